"""A VM's graphical consoles: read from its domain XML, and closed to loopback when recovered elsewhere.

granja never keeps a console's password (hypervisor/domain_xml.py strips `passwd`), so the
definition `recover` defines on another host has none. A console that had one, or that listens
beyond loopback, would come back open to anyone who reaches that host: `closed_to_loopback`
makes it listen on 127.0.0.1 only (attribute and `<listen>` children), and `reopen_notes` says,
per VM, what changed and how to open it again (a password with virsh, then the listen address).
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from hypervisor.model import VM, Console

LOOPBACK = "127.0.0.1"
# Consoles reached over the network; SDL, egl-headless, dbus… show on the host itself.
NETWORKED = frozenset({"vnc", "spice", "rdp"})


def consoles_of(root: ET.Element) -> tuple[Console, ...]:
    """Each `<graphics>` of a domain, in order; `password` is whether it had a `passwd`."""
    return tuple(Console(type=g.get("type", ""), listen=", ".join(_listens(g)), password="passwd" in g.attrib)
                 for g in root.iterfind("devices/graphics"))


def _listens(graphics: ET.Element) -> list[str]:
    """Where it listens: the `<listen>` children (an address, `network NAME`, `socket`), else `listen=`."""
    found = []
    for child in graphics.iterfind("listen"):
        kind = child.get("type", "address")
        if kind == "address":
            found.append(child.get("address") or graphics.get("listen", ""))
        elif kind == "network":
            found.append(f"network {child.get('network', '')}")
        else:  # socket, none: not on the network
            found.append(kind)
    if not found and graphics.get("listen"):
        found.append(graphics.get("listen", ""))
    return [where for where in found if where]


def _local(where: str) -> bool:
    """Whether a listen place is reachable from the host itself only."""
    if where in ("socket", "none", "localhost"):
        return True
    try:
        return ipaddress.ip_address(where).is_loopback
    except ValueError:
        return False  # a network's address, or a host name: beyond loopback


def to_close(console: Console) -> bool:
    """Whether recovery makes this console listen on loopback only.

    So it does when the console had a password (the host's default listen may be any address)
    or listens beyond loopback with none.
    """
    if console.type not in NETWORKED:
        return False
    places = [p.strip() for p in console.listen.split(",") if p.strip()]
    if console.password and not places:
        return True
    return not all(_local(place) for place in places)


def recorded_consoles(vm: VM, root: ET.Element) -> tuple[Console, ...]:
    """The VM's consoles as recorded, else as its definition says (older records: passwords unknown)."""
    return vm.consoles if vm.consoles is not None else consoles_of(root)


def closed_to_loopback(root: ET.Element, consoles: Sequence[Console]) -> bool:
    """Make each console `to_close` listen on 127.0.0.1 only, in place; whether any was changed."""
    changed = False
    for graphics, console in zip(root.findall("devices/graphics"), consoles, strict=False):
        if not to_close(console):
            continue
        for child in graphics.findall("listen"):
            if child.get("type", "address") in ("address", "network"):
                graphics.remove(child)
        graphics.set("listen", LOOPBACK)
        graphics.insert(0, ET.Element("listen", {"type": "address", "address": LOOPBACK}))
        changed = True
    return changed


def reopen_notes(vm: VM, host: str) -> list[str]:
    """Per console that recovery on `host` closes or that loses its password: what and how to reopen it.

    None for a VM without such a console.
    """
    if not vm.definition:
        return []
    notes = []
    for console in recorded_consoles(vm, ET.fromstring(vm.definition)):
        if console.type not in NETWORKED or not (console.password or to_close(console)):
            continue
        kind = console.type.upper()
        was = console.listen or "the host's default address"
        if to_close(console):
            what = f"its {kind} console comes back listening on {LOOPBACK} only (it listened on {was}"
            what += ", with a password granja does not keep)" if console.password else " with no password)"
        else:
            what = (f"its {kind} console comes back without its password (granja does not keep it), "
                    f"still on {console.listen}")
        how = (f"to reopen it, on {host}: virsh update-device {vm.name} FILE --live --config, FILE holding "
               f"<graphics type='{console.type}' listen='{LOOPBACK}' passwd='…'/>")
        if to_close(console):
            where = f"the listen address ({was})" if console.listen else "remove listen="
            how += f"; then {where} with virsh edit {vm.name}, from its next start"
        notes.append(f"{vm.name}: {what}; {how}.")
    return notes
