"""Host facts over real SSH: host keys checked against known_hosts, one connection reused, facts stored."""

from __future__ import annotations

import gc
import re
import subprocess
import time
from pathlib import Path

import paramiko
import pytest

from bot.results import Outcome
from hypervisor.errors import HostKeyMismatch, HostUnreachable
from hypervisor.model import uptime_text
from hypervisor.ssh_facts import SSHFacts
from tests.real.daemons import SSH_PORT


def ssh_facts(host, keys, known_hosts=None, timeout=5.0) -> SSHFacts:
    return SSHFacts(host.name, f"root@{host.address}:{SSH_PORT}", key_file=str(keys / "id_ed25519"),
                    known_hosts=str(known_hosts or keys / "known_hosts"), timeout=timeout)


def test_facts_come_from_the_hosts_own_os_over_one_reused_connection(real_farm):
    host = real_farm.hosts[0]
    source = ssh_facts(host, real_farm.keys)
    try:
        facts = source.facts()
        transport = source._client.get_transport()
        assert source.run("hostname").strip() == host.name  # the host's own UTS namespace
        assert source._client.get_transport() is transport
    finally:
        source.close()
    assert facts.node is not None
    assert facts.node.source == "virsh nodeinfo"
    assert facts.node.cpus >= 1
    assert facts.node.memory_mib > 0
    assert facts.storage
    assert facts.storage[0].free_bytes > 0


def test_a_changed_host_key_is_an_error_naming_the_host(real_farm, tmp_path):
    host = real_farm.hosts[1]
    impostor = tmp_path / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True)
    kind, key = impostor.with_suffix(".pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[{host.address}]:{SSH_PORT} {kind} {key}\n")
    changed = rf"Host {host.name} is unreachable: its SSH host key has CHANGED"
    with pytest.raises(HostKeyMismatch, match=changed):
        ssh_facts(host, real_farm.keys, known).facts()


def test_an_unknown_host_is_not_added_silently(real_farm, tmp_path):
    host = real_farm.hosts[1]
    known = tmp_path / "known_hosts"
    known.write_text("")
    with pytest.raises(HostKeyMismatch, match=rf"{host.name} .* not in {known}"):
        ssh_facts(host, real_farm.keys, known).facts()
    assert known.read_text() == ""


def test_refresh_stores_ssh_facts_and_reports_a_changed_key(hosts, real_chat, tmp_path):
    real_chat.send("refresh")
    record = real_chat.engine.inventory.host("real1").host
    assert record.facts is not None
    assert record.facts.node is not None
    assert record.facts.node.source == "virsh nodeinfo"
    real_chat.send("host real1")
    assert f"  virsh nodeinfo: {record.facts.node.cpus} CPUs, " in real_chat.transcript
    assert "  disk /var/lib/libvirt: " in real_chat.transcript  # the mount point holding the images
    # The host's own /proc/uptime against its clock (the namespaces share this machine's boot).
    booted = time.time() - float(Path("/proc/uptime").read_text().split()[0])
    assert record.facts.booted_at is not None
    assert abs(record.facts.booted_at - booted) <= 2
    shown = re.search(r"\n  up (.+)\n", real_chat.transcript)
    assert shown, real_chat.transcript
    up_now = int(time.time()) - record.facts.booted_at  # `host` answered a moment ago
    assert shown.group(1) in {uptime_text(up_now - ago) for ago in range(10)}
    assert record.facts.domains == ()  # not Xen: no `xl uptime`, and no note about it
    assert "uptime unknown" not in real_chat.transcript

    known = hosts.keys / "known_hosts"
    original = known.read_text()
    lines = original.splitlines(keepends=True)
    try:  # real3's key swapped for real1's: granja must refuse to trust real3
        real1, _, real3 = hosts.hosts
        known.write_text(lines[0] + lines[1] + lines[0].replace(real1.address, real3.address))
        for name in real_chat.engine.farm.host_names:
            real_chat.engine.farm.driver(name)._facts.close()
        reply = real_chat.send("refresh")
    finally:
        known.write_text(original)
    assert reply.outcome is Outcome.OK
    assert "Not answering: real3 (its SSH host key has CHANGED" in real_chat.transcript


def test_a_failed_command_leaves_no_channel_file_for_the_collector(real_farm):
    """CI once hung in teardown: a timed-out command's stdin file, kept alive by an exception cycle
    (the host-call pool stores the exception, its traceback holds the frame), was finalized by the
    cyclic collector inside paramiko's transport thread while that thread held the channel's lock;
    the finalizer takes the same lock, so the transport and every later call on the host waited
    forever. A command must leave no paramiko file object behind, even when it fails."""
    source = ssh_facts(real_farm.hosts[0], real_farm.keys, timeout=0.5)
    gc.disable()
    try:
        with pytest.raises(HostUnreachable, match="SSH to .* failed") as caught:
            source.run("sleep 5")
        kept: list[object] = [caught.value]
        kept.append(kept)  # held in a cycle, as a thread pool's outcome holds it
        del caught
        left = [o for o in gc.get_objects() if isinstance(o, paramiko.ChannelFile)]
    finally:
        gc.enable()
        source.close()
    assert left == []
    del kept
