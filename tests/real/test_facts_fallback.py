"""Facts over real SSH from a host whose iproute2 is too old for JSON: sysfs and procfs stand in.

The host's `ip`, `bridge` (and `virsh`) are replaced in its own mount namespace only, by bind
mounts of small scripts that behave as old iproute2 does (`ip -j` unknown before 4.14, `bridge -j
link` printing text before 4.17); its sysfs is a real kernel's. The other hosts keep the real tools.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypervisor.facts_parse import parse_links
from hypervisor.host_model import Bridge, FactsNote, HostFacts
from tests.real.daemons import RealHost
from tests.real.test_ssh_facts import ssh_facts

# iproute2 before 4.14 knows no -j: it says so and exits 255 (its exit(-1)).
OLD_IP = """case " $* " in *" -j "*) echo 'Option "-j" is unknown, try "ip -help".' >&2; exit 255;; esac
exec {net}{tools}/ip "$@"
"""
# iproute2 4.7-4.16 accepts -j, but `bridge link` prints its usual text.
TEXT_BRIDGE = """for a in "$@"; do shift; [ "$a" = "-j" ] || set -- "$@" "$a"; done
exec {net}{tools}/bridge "$@"
"""
JSON_IP = 'exec {net}{tools}/ip "$@"\n'
NO_VIRSH = "echo 'error: failed to connect to the hypervisor' >&2; exit 1\n"
IP_TOO_OLD = "`ip -j -d link` failed (exit 255); iproute2 older than 4.14?"
BRIDGE_TEXT = "`bridge -j link` gave text; iproute2 older than 4.17?"


def inside(host: RealHost, *command: str) -> None:
    """Run a command in the host's mount namespace."""
    subprocess.run(["nsenter", "-t", str(host.holder), "-m", "--", *command], check=True,
                   capture_output=True, text=True, timeout=30)


@contextmanager
def replaced(host: RealHost, folder: Path, programs: dict[str, str], net: str = "") -> Iterator[None]:
    """The host's programs (path -> script) replaced by scripts, in its mount namespace only.

    The scripts find the real tools as copies in `folder` (the originals are under the bind mounts);
    with `net` (a network namespace file) they run them in that network namespace.
    """
    tools = folder / "tools"
    tools.mkdir(exist_ok=True)
    for name, real in (("ip", "/usr/bin/ip"), ("bridge", "/usr/sbin/bridge")):
        shutil.copy2(real, tools / name)
    prefix = f"nsenter --net={net} " if net else ""
    mounted: list[str] = []
    try:
        for path, script in programs.items():
            shim = folder / f"shim-{Path(path).name}"
            shim.write_text("#!/bin/sh\n" + script.format(net=prefix, tools=tools))
            shim.chmod(0o755)
            inside(host, "mount", "--bind", str(shim), path)
            mounted.append(path)
        yield
    finally:
        for path in reversed(mounted):
            inside(host, "umount", path)


@contextmanager
def bridged_network() -> Iterator[int]:
    """A network namespace holding two bridges with ports and an empty one; yields its holder's PID."""
    setup = ("ip link add eno1 type veth peer name peer-eno1; "
             "ip link add eno2 type veth peer name peer-eno2; "
             "ip link add vif7.0 type veth peer name peer-vif7.0; ip link add xenbr0 type bridge; "
             "ip link add br120 type bridge; ip link add br-empty type bridge; "
             "ip link set eno1 master xenbr0; ip link set vif7.0 master xenbr0; "
             "ip link set eno2 master br120")
    # The links are made by the namespace's own first process, so they can never land in the
    # machine's namespace (entering /proc/PID/ns/net of a process that has not unshared yet would).
    holder = subprocess.Popen(["unshare", "--net", "sh", "-ec", f"{setup}; echo ready; exec sleep infinity"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        ready = holder.stdout.readline()  # the process's own output: returns when setup ends or fails
        why = "" if ready == "ready\n" or holder.stderr is None else holder.stderr.read()
        assert ready == "ready\n", f"the bridged namespace could not be set up: {why}"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait(timeout=10)
        for pipe in (holder.stdout, holder.stderr):
            if pipe is not None:
                pipe.close()


def json_truth(net: str = "") -> tuple[tuple[Bridge, ...], int]:
    """Bridges as the real iproute2 JSON gives them (in the test's own process), and the VLAN count."""
    enter = ["nsenter", f"--net={net}"] if net else []
    ip, bridge = (subprocess.run([*enter, *command], check=True, capture_output=True, text=True,
                                 timeout=30).stdout
                  for command in (["ip", "-j", "-d", "link"], ["bridge", "-j", "link"]))
    vlans, bridges = parse_links(ip, bridge)
    return bridges, len(vlans)


def by_name(bridges: tuple[Bridge, ...]) -> dict[str, set[str]]:
    return {b.name: set(b.ports) for b in bridges}


def test_a_host_without_iproute2_json_reads_links_and_bridges_from_the_machines_sysfs(hosts, real_chat,
                                                                                     tmp_path):
    real1, real2, _ = hosts.hosts
    with replaced(real1, tmp_path, {"/usr/bin/ip": OLD_IP, "/usr/sbin/bridge": TEXT_BRIDGE,
                                    "/usr/bin/virsh": NO_VIRSH}):
        real_chat.send("refresh")
        untouched = ssh_facts(real2, hosts.keys)
        try:
            other = untouched.facts()
        finally:
            untouched.close()
        real_chat.send("host real1")
    bridges, vlans = json_truth()  # the machine's own network, read with the real tools
    record = real_chat.engine.inventory.host("real1")
    assert record is not None
    facts: HostFacts | None = record.host.facts
    assert facts is not None
    assert facts.fallback == (FactsNote("links", f"read from /proc/net/vlan/config: {IP_TOO_OLD}"),
                              FactsNote("bridges", f"read from /sys/class/net/*/brif: {IP_TOO_OLD}"))
    assert facts.unknown == (FactsNote("hypervisor", "neither `xl info` nor `virsh nodeinfo` answered"),)
    assert by_name(facts.bridges) == by_name(bridges)
    assert len(facts.vlans) == vlans
    assert facts.storage  # df kept
    shown = real_chat.transcript
    assert f"  links read from /proc/net/vlan/config: {IP_TOO_OLD}" in shown
    assert f"  bridges read from /sys/class/net/*/brif: {IP_TOO_OLD}" in shown
    assert "  hypervisor unknown: neither `xl info` nor `virsh nodeinfo` answered" in shown
    assert "  disk /var/lib/libvirt: " in shown
    # Only real1's namespace had the old tools: real2 answered with JSON and its hypervisor's view.
    assert (other.fallback, other.unknown) == ((), ())
    assert other.node is not None
    assert other.node.source == "virsh nodeinfo"


def test_bridges_and_ports_from_sysfs_are_those_iproute2_json_gives(hosts, tmp_path):
    real1 = hosts.hosts[0]
    with bridged_network() as holder:
        net = f"/proc/{holder}/ns/net"
        bridges, _ = json_truth(net)
        # The host's sysfs becomes that network's (a real kernel sysfs, mounted from inside it) ...
        subprocess.run(["nsenter", f"--mount=/proc/{real1.holder}/ns/mnt", f"--net={net}", "--",
                        "mount", "-t", "sysfs", "sysfs", "/sys"], check=True, capture_output=True, timeout=30)
        try:  # ... and so are its ip (JSON) and bridge (text: iproute2 4.7-4.16)
            with replaced(real1, tmp_path, {"/usr/bin/ip": JSON_IP, "/usr/sbin/bridge": TEXT_BRIDGE}, net):
                source = ssh_facts(real1, hosts.keys)
                try:
                    facts = source.facts()
                finally:
                    source.close()
        finally:
            inside(real1, "umount", "/sys")
    assert by_name(bridges) == {"xenbr0": {"eno1", "vif7.0"}, "br120": {"eno2"}, "br-empty": set()}
    assert by_name(facts.bridges) == by_name(bridges)
    assert facts.fallback == (FactsNote("bridges", f"read from /sys/class/net/*/brif: {BRIDGE_TEXT}"),)
    assert facts.unknown == ()
    assert facts.node is not None  # virsh nodeinfo still answers
