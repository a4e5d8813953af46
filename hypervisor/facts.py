"""Host network facts (bonds, VLAN sub-interfaces, bridges) and where they come from.

In production these come from the host's OS over SSH (libvirt's host-interface
API is deprecated). A simulated host describes its network in its node file,
with libvirt's interface XML, and `NodeFileFacts` reads it from there.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from hypervisor.testnode import signature

if TYPE_CHECKING:
    from hypervisor.host_model import Bond, HostFacts, VlanIf


class NodeFileFacts:
    """Network facts of a simulated host, read from the <interface> elements of its node file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: tuple[tuple[int, int, int], HostFacts] | None = None

    def facts(self) -> HostFacts:
        """The bonds, VLAN sub-interfaces and bridges the node file declares (re-read when it changes)."""
        version = signature(self.path)
        if self._cached is None or self._cached[0] != version:
            self._cached = (version, self._read())
        return self._cached[1]

    def _read(self) -> HostFacts:
        from hypervisor.host_model import Bridge, HostFacts, VlanIf  # read at a refresh, not for a question

        root = ET.parse(self.path).getroot()
        bonds: list[Bond] = []
        vlans: list[VlanIf] = []
        bridges: list[Bridge] = []
        for iface in root.iter("interface"):
            kind, name = iface.get("type"), iface.get("name", "")
            if kind == "bond" and iface.find("bond") is not None:
                bonds.append(_bond(name, iface.find("bond")))  # type: ignore[arg-type]
            elif kind == "vlan" and iface.find("vlan") is not None:
                tag = iface.find("vlan")
                parent = tag.find("interface") if tag is not None else None
                vlans.append(VlanIf(
                    name=name, vlan=int(tag.get("tag", "0")) if tag is not None else 0,
                    parent=parent.get("name", "") if parent is not None else "",
                ))
            elif kind == "bridge" and iface.find("bridge") is not None:
                ports = tuple(p.get("name", "") for p in iface.findall("bridge/interface"))
                bridges.append(Bridge(name=name, ports=ports))
        return HostFacts(bonds=tuple(bonds), vlans=_unique(vlans), bridges=tuple(bridges))


def _bond(name: str, bond: ET.Element) -> Bond:
    from hypervisor.host_model import Bond  # as in NodeFileFacts._read

    slaves = [s for s in bond.findall("interface")]
    up = tuple(s.get("name", "") for s in slaves if _link_up(s))
    return Bond(name=name, mode=bond.get("mode", ""),
                slaves=tuple(s.get("name", "") for s in slaves), slaves_up=up)


def _link_up(iface: ET.Element) -> bool:
    link = iface.find("link")
    return link is None or link.get("state", "up") == "up"


def _unique(vlans: list[VlanIf]) -> tuple[VlanIf, ...]:
    """A VLAN nested inside a bridge is listed again there; keep the first of each name."""
    seen: dict[str, VlanIf] = {}
    for vlan in vlans:
        seen.setdefault(vlan.name, vlan)
    return tuple(seen.values())
