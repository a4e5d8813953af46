"""Pure parsers for what a host's OS prints about its network, storage and hypervisor.

Inputs are the outputs of `/proc/net/bonding/*`, `ip -j -d link`,
`bridge -j link`, `df -B1 --output=target,size,avail`, `xl info` and
`virsh nodeinfo`; outputs are the model's dataclasses. No I/O here, so each
parser is tested against recorded outputs of real hosts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypervisor.model import Bond, Bridge, HostFacts, NodeView, Storage, VlanIf

STORAGE_PATHS = ("/var/lib/libvirt/images", "/var/lib/xen/images")
# One command, one round trip (each SSH exec costs 0.2-0.3 s): every fact under its own marker.
FACTS_SCRIPT = (
    'for f in /proc/net/bonding/*; do [ -r "$f" ] && echo "@@bond ${f##*/}" && cat "$f"; done; '
    "echo @@ip; ip -j -d link 2>/dev/null; echo @@bridge; bridge -j link 2>/dev/null; "
    f"echo @@df; df -B1 --output=target,size,avail {' '.join(STORAGE_PATHS)} 2>/dev/null; "
    "echo @@xl; xl info 2>/dev/null || { echo @@nodeinfo; virsh nodeinfo 2>/dev/null; }; true"
)

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


def parse_bonding(name: str, text: str) -> Bond:
    """One bond from its /proc/net/bonding/NAME file: mode, slaves and which have link."""
    mode = ""
    slaves: list[str] = []
    up: list[str] = []
    current: str | None = None
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "Bonding Mode":
            mode = _BOND_MODES.get(value, value)
        elif key == "Slave Interface":
            current = value
            slaves.append(value)
        elif key == "MII Status" and current is not None and value == "up":
            up.append(current)
    return Bond(name=name, mode=mode, slaves=tuple(slaves), slaves_up=tuple(up))


def parse_links(ip_json: str, bridge_json: str) -> tuple[tuple[VlanIf, ...], tuple[Bridge, ...]]:
    """VLAN sub-interfaces (from `ip -j -d link`) and bridges with their ports (plus `bridge -j link`)."""
    links: list[dict[str, Any]] = json.loads(ip_json or "[]")
    vlans: list[VlanIf] = []
    bridges: dict[str, list[str]] = {}
    for link in links:
        info = link.get("linkinfo", {})
        kind = info.get("info_kind")
        if kind == "vlan":
            vlans.append(VlanIf(name=link["ifname"], vlan=int(info.get("info_data", {}).get("id", 0)),
                                parent=link.get("link", "")))
        elif kind == "bridge":
            bridges[link["ifname"]] = []
    for port in json.loads(bridge_json or "[]"):
        master = port.get("master")
        if master in bridges:
            bridges[master].append(port["ifname"])
    return tuple(vlans), tuple(Bridge(name=n, ports=tuple(p)) for n, p in bridges.items())


def parse_df(text: str) -> tuple[Storage, ...]:
    """Mount points with size and free bytes, from `df -B1 --output=target,size,avail` (header first)."""
    found: dict[str, Storage] = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
            path = " ".join(parts[:-2])
            found[path] = Storage(path=path, size_bytes=int(parts[-2]), free_bytes=int(parts[-1]))
    return tuple(found.values())


def parse_xl_info(text: str) -> NodeView:
    """The Xen hypervisor's own view from `xl info`: CPUs, memory and free memory (MiB), version."""
    fields = _colon_fields(text)
    return NodeView(source="xl info", cpus=int(fields.get("nr_cpus", 0)),
                    memory_mib=int(fields.get("total_memory", 0)),
                    free_memory_mib=int(fields.get("free_memory", 0)),
                    version="Xen " + fields.get("xen_version", "?"))


def parse_nodeinfo(text: str) -> NodeView:
    """The node as libvirt sees it, from `virsh nodeinfo`: CPUs and memory (no free memory)."""
    fields = _colon_fields(text)
    memory = re.match(r"(\d+)", fields.get("Memory size", "0"))
    return NodeView(source="virsh nodeinfo", cpus=int(fields.get("CPU(s)", 0)),
                    memory_mib=int(memory.group(1)) // 1024 if memory else 0,
                    free_memory_mib=None)


def parse_facts(output: str) -> HostFacts:
    """All facts from the output of `FACTS_SCRIPT`: sections start with a line "@@NAME"."""
    sections = split_sections(output)
    bonds = tuple(parse_bonding(key.split(" ", 1)[1], text)
                  for key, text in sections.items() if key.startswith("bond "))
    vlans, bridges = parse_links(sections.get("ip", ""), sections.get("bridge", ""))
    node = None
    if sections.get("xl", "").strip():
        node = parse_xl_info(sections["xl"])
    elif sections.get("nodeinfo", "").strip():
        node = parse_nodeinfo(sections["nodeinfo"])
    return HostFacts(bonds=bonds, vlans=vlans, bridges=bridges, storage=parse_df(sections.get("df", "")),
                     node=node)


def split_sections(output: str) -> dict[str, str]:
    """The text after each "@@NAME" marker line, by NAME."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("@@"):
            current = sections.setdefault(line[2:].strip(), [])
        elif current is not None:
            current.append(line)
    return {key: "\n".join(lines) for key, lines in sections.items()}


def _colon_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields
