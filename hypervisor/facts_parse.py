"""Pure parsers for what a host's OS prints about its network, storage and hypervisor.

Inputs are the outputs of `/proc/net/bonding/*`, `ip -j -d link`,
`bridge -j link`, the sysfs/procfs listing that stands in for them on old
iproute2 (`/sys/class/net/*/brif/`, `/proc/net/vlan/config`),
`df -B1 --output=target,size,avail`, `xl info`, `virsh nodeinfo`, `/proc/uptime`
with the host's clock and `xl uptime`; outputs
are the model's dataclasses. An output that cannot be read raises `Unreadable`
saying why. No I/O here, so each parser is tested against recorded outputs of
real hosts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypervisor.host_model import Bond, Bridge, DomainStart, NodeView, Storage, VlanIf

# The bonding driver names its modes in words; the names people configure are these.
_BOND_MODES = {
    "load balancing (round-robin)": "balance-rr",
    "fault-tolerance (active-backup)": "active-backup",
    "load balancing (xor)": "balance-xor",
    "fault-tolerance (broadcast)": "broadcast",
    "IEEE 802.3ad Dynamic link aggregation": "802.3ad",
    "transmit load balancing": "balance-tlb",
    "adaptive load balancing": "balance-alb",
}


class Unreadable(ValueError):
    """An output that cannot be read as the facts it should hold; the message says why."""


def parse_bonding(name: str, text: str) -> Bond:
    """One bond from its /proc/net/bonding/NAME file: mode, slaves and which carry traffic.

    A slave carries traffic when its MII status is up and, in 802.3ad, it sits in the bond's
    active aggregator (a slave in another aggregator has link but is idle).
    """
    mode = ""
    slaves: list[str] = []
    link: set[str] = set()
    aggregator: dict[str | None, str] = {}  # slave (None: the bond's active aggregator) -> ID
    current: str | None = None
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "Bonding Mode":
            # The driver appends flags to the mode, e.g. "(fail_over_mac active)": the mode is the start.
            mode = next((m for words, m in _BOND_MODES.items() if value.startswith(words)), value)
        elif key == "Slave Interface":
            current = value
            slaves.append(value)
        elif key == "MII Status" and current is not None and value == "up":
            link.add(current)
        elif key == "Aggregator ID":
            aggregator.setdefault(current, value)
    if not mode:
        raise Unreadable(f"/proc/net/bonding/{name} has no 'Bonding Mode' line")
    active = aggregator.get(None) if mode == "802.3ad" else None
    idle = tuple(s for s in slaves
                 if s in link and active is not None and aggregator.get(s, active) != active)
    return Bond(name=name, mode=mode, slaves=tuple(slaves),
                slaves_up=tuple(s for s in slaves if s in link and s not in idle), outside_aggregator=idle)


def parse_ip_links(ip_json: str) -> tuple[tuple[VlanIf, ...], tuple[str, ...]]:
    """VLAN sub-interfaces and the names of the bridges, from `ip -j -d link` (iproute2 4.14+)."""
    vlans: list[VlanIf] = []
    bridges: list[str] = []
    for link in _json_list(ip_json, "ip -j -d link", "4.14"):
        info = link.get("linkinfo", {})
        kind = info.get("info_kind")
        if kind == "vlan":
            vlans.append(VlanIf(name=link.get("ifname", ""), vlan=int(info.get("info_data", {}).get("id", 0)),
                                parent=link.get("link", "")))
        elif kind == "bridge":
            bridges.append(link.get("ifname", ""))
    return tuple(vlans), tuple(bridges)


def parse_bridge_ports(bridge_json: str, bridges: tuple[str, ...]) -> tuple[Bridge, ...]:
    """The named bridges with their ports, from `bridge -j link` (JSON from iproute2 4.17)."""
    ports: dict[str, list[str]] = {name: [] for name in bridges}
    for port in _json_list(bridge_json, "bridge -j link", "4.17"):
        master = port.get("master")
        if master in ports:
            ports[master].append(port.get("ifname", ""))
    return tuple(Bridge(name=n, ports=tuple(p)) for n, p in ports.items())


def parse_links(ip_json: str, bridge_json: str) -> tuple[tuple[VlanIf, ...], tuple[Bridge, ...]]:
    """VLAN sub-interfaces (from `ip -j -d link`) and bridges with their ports (plus `bridge -j link`)."""
    vlans, bridges = parse_ip_links(ip_json)
    return vlans, parse_bridge_ports(bridge_json, bridges)


def parse_sysfs_bridges(text: str) -> tuple[Bridge, ...]:
    """Bridges and their ports from the script's sysfs listing.

    One line per /sys/class/net entry: "NAME", or for a bridge "NAME bridge PORT..." (its brif/ folder).
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines:
        raise Unreadable("/sys/class/net lists no interface (sysfs not mounted?)")
    return tuple(Bridge(name=parts[0], ports=tuple(parts[2:]))
                 for parts in lines if len(parts) > 1 and parts[1] == "bridge")


def parse_proc_vlans(text: str) -> tuple[VlanIf, ...]:
    """VLAN sub-interfaces from /proc/net/vlan/config ("NAME | ID | PARENT" after two header lines).

    No file (empty text) means the 8021q module is not loaded, so the host has no VLAN interfaces.
    """
    vlans = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 3 and parts[1].isdigit():
            vlans.append(VlanIf(name=parts[0], vlan=int(parts[1]), parent=parts[2]))
    return tuple(vlans)


def parse_df(text: str) -> tuple[Storage, ...]:
    """Mount points with size and free bytes, from `df -B1 --output=target,size,avail` (header first).

    df's own errors may be mixed in: a folder that does not exist is skipped; anything else that
    stops df from giving one row (no --output before coreutils 8.21, no df at all) is `Unreadable`.
    """
    found: dict[str, Storage] = {}
    other: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("/") and len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
            path = " ".join(parts[:-2])
            found[path] = Storage(path=path, size_bytes=int(parts[-2]), free_bytes=int(parts[-1]))
        elif line.strip() and not (line.startswith("df: ") and line.endswith("No such file or directory")):
            other.append(line.strip())
    if not found and other:
        raise Unreadable(f"`df` gave no table: {other[0][:120]}")
    if not text.strip():
        raise Unreadable("`df` printed nothing")
    return tuple(found.values())


def parse_xl_info(text: str) -> NodeView:
    """The Xen hypervisor's own view from `xl info`: CPUs, memory and free memory (MiB), version.

    Before Xen 4.4 `xl info` had no xen_version line: the version is xen_major.xen_minor + xen_extra.
    """
    fields = _colon_fields(text)
    if not fields.get("nr_cpus", "").isdigit():
        raise Unreadable("`xl info` gave no nr_cpus")
    version = fields.get("xen_version", "")
    if not version and fields.get("xen_major"):
        version = f"{fields['xen_major']}.{fields.get('xen_minor', '0')}{fields.get('xen_extra', '')}"
    return NodeView(source="xl info", cpus=int(fields["nr_cpus"]),
                    memory_mib=int(fields.get("total_memory", 0)),
                    free_memory_mib=int(fields.get("free_memory", 0)),
                    version=f"Xen {version}" if version else "")


def parse_nodeinfo(text: str) -> NodeView:
    """The node as libvirt sees it, from `virsh nodeinfo`: CPUs and memory (no free memory)."""
    fields = _colon_fields(text)
    if not fields.get("CPU(s)", "").isdigit():
        raise Unreadable("`virsh nodeinfo` gave no CPU(s)")
    memory = re.match(r"(\d+)", fields.get("Memory size", "0"))
    return NodeView(source="virsh nodeinfo", cpus=int(fields["CPU(s)"]),
                    memory_mib=int(memory.group(1)) // 1024 if memory else 0,
                    free_memory_mib=None)


def _json_list(text: str, command: str, since: str) -> list[dict[str, Any]]:
    """A JSON list of objects from an iproute2 command; text instead means an iproute2 without JSON."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except ValueError:
        raise Unreadable(f"`{command}` gave text; iproute2 older than {since}?") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise Unreadable(f"`{command}` gave JSON that is not a list of interfaces")
    return data


def _colon_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


def parse_proc_uptime(text: str) -> tuple[float, int]:
    """Seconds since boot and the host's clock (epoch seconds) from `cat /proc/uptime; date +%s`.

    /proc/uptime holds "350735.47 234388.90" (up, idle); the clock follows on its own line.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise Unreadable("/proc/uptime or the host's clock (`date +%s`) is missing")
    try:
        seconds = float(lines[0].split()[0])
    except ValueError:
        raise Unreadable(f"/proc/uptime read {lines[0][:80]!r}") from None
    if not lines[-1].isdigit():
        raise Unreadable(f"the host's clock (`date +%s`) read {lines[-1][:40]!r}")
    return seconds, int(lines[-1])


# One domain of `xl uptime` (xl's uptime_to_string): "Name  ID  [D day(s), ]H:MM:SS"; the hours
# are padded to two places ("0 days,  3:27:41"). xm printed the same columns.
_XL_UPTIME = re.compile(r"^(?P<name>\S.*?)\s+(?P<id>\d+)\s+(?:(?P<days>\d+) days?,\s*)?"
                        r"(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)\s*$")


def parse_xl_uptime(text: str, clock: int) -> tuple[DomainStart, ...]:
    """Each domain's start, by the host's `clock` (epoch seconds), from `xl uptime` (Domain-0 included)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].split()[:3] != ["Name", "ID", "Uptime"]:
        first = lines[0].strip() if lines else "nothing"
        raise Unreadable(f"`xl uptime` printed {first[:80]!r}, not its 'Name ID Uptime' table")
    domains = []
    for line in lines[1:]:
        found = _XL_UPTIME.match(line)
        if found is None:
            raise Unreadable(f"`xl uptime` line not understood: {line.strip()[:80]!r}")
        seconds = (int(found["days"] or 0) * 86400 + int(found["h"]) * 3600 + int(found["m"]) * 60
                   + int(found["s"]))
        domains.append(DomainStart(found["name"], int(found["id"]), clock - seconds))
    return tuple(domains)
