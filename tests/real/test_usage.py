"""What a running guest and its host use, read from a real libvirtd's statistics at refresh."""

from __future__ import annotations

import re

from tests.real.conftest import define_guest


def test_refresh_reads_cpu_and_memory_use_and_show_hosts_and_host_print_them(hosts, real_chat):
    define_guest(hosts.hosts[0], "busy", memory_mib=64)
    real_chat.send("refresh")
    assert "Not answering" not in real_chat.transcript, real_chat.transcript
    first = real_chat.engine.inventory.vm("busy").vm.usage
    assert first is not None
    assert first.cpu_seconds is not None
    assert first.cpu_seconds > 0
    assert first.memory_used_mib is not None
    assert 0 < first.memory_used_mib <= 256  # the QEMU process's resident memory for a 64 MiB guest
    real_chat.send("refresh")  # CPU use is the growth of the counters between two readings
    usage = real_chat.engine.inventory.vm("busy").vm.usage
    assert usage is not None
    assert usage.cpu_percent is not None
    assert 0 <= usage.cpu_percent <= 100

    real_chat.send("show busy")
    assert re.search(r"^  in use     CPU [\d.]+%, memory \d+ MiB of 64 MiB$", real_chat.transcript, re.M), \
        real_chat.transcript
    real_chat.send("host real1")
    line = r"^  in use now: CPU [\d.]+%, memory [\d.]+ [MG]iB of [\d.]+ [MG]iB$"
    assert re.search(line, real_chat.transcript, re.M), real_chat.transcript
    real_chat.send("hosts")
    row = next(line for line in real_chat.transcript.splitlines() if line.startswith("real1 "))
    assert re.search(r"CPU [\d.]+%, mem [\d.]+ [MG]iB", row), real_chat.transcript
