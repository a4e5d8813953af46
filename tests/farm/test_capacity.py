"""The capacity checks and the simple host choice behind create and set, as plain functions."""

from __future__ import annotations

import pytest

from hypervisor.errors import InsufficientCapacity
from hypervisor.model import gib
from hypervisor.resources import Limits, Room, check_memory, check_vcpus

ROOMS = [
    Room("host01", cpus=16, memory_mib=65536, used_memory_mib=61440, clusters=frozenset()),
    Room("host02", cpus=32, memory_mib=131072, used_memory_mib=65536, clusters=frozenset({"ldap"})),
    Room("host03", cpus=24, memory_mib=98304, used_memory_mib=49152, clusters=frozenset({"imap"})),
]


def test_memory_growth_of_a_running_vm_must_fit_the_free_memory():
    room = ROOMS[0]  # 4 GiB free
    check_memory("a", 8192, now_mib=4096, running=True, room=room, limits=Limits())
    message = r"host01 has 4 GiB free of 64 GiB\. Ask for at most 8 GiB"
    with pytest.raises(InsufficientCapacity, match=message):
        check_memory("a", 9216, now_mib=4096, running=True, room=room, limits=Limits())
    check_memory("a", 32768, now_mib=4096, running=False, room=room, limits=Limits())  # not running
    with pytest.raises(InsufficientCapacity, match="has only 64 GiB"):
        check_memory("a", 65537, now_mib=4096, running=False, room=room, limits=Limits())


def test_template_limits_come_before_host_capacity():
    limits = Limits(template="web", vcpus=4, memory_mib=8192)
    with pytest.raises(InsufficientCapacity, match="its template web allows at most 4"):
        check_vcpus("a", 5, room=ROOMS[1], limits=limits)
    with pytest.raises(InsufficientCapacity, match="its host host02 has 32 CPUs"):
        check_vcpus("a", 33, room=ROOMS[1], limits=Limits())


@pytest.mark.parametrize(("mib", "text"), [(512, "512 MiB"), (1024, "1 GiB"), (20992, "20.5 GiB")])
def test_sizes_in_messages(mib, text):
    assert gib(mib) == text
