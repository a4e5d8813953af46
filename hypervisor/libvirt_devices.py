"""libvirt calls that change a VM's resources and a host's volumes, for `libvirt_host` only.

Each change is tried live (and in the definition) first; where the driver
cannot do it live, it is made in the persistent definition only and takes
effect at next boot. Which one happened is decided by libvirt's own answer
("not supported", "exceeds maximum"), never by guessing the driver. Errors
are left as libvirt errors: `libvirt_host` converts them at its edge.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import libvirt

from hypervisor.domain_xml import parse_domain
from hypervisor.model import VMState

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
# Answers meaning "not like this": the live attempt is given up and the definition changed instead.
_CANNOT = frozenset({
    libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_OPERATION_INVALID,
    libvirt.VIR_ERR_OPERATION_UNSUPPORTED, libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
})


def create_volume(conn: Any, pool: str, name: str, size_bytes: int, *, clone_of: str = "") -> str:
    """Create a raw volume in `pool` (sparse, or a clone of `clone_of`) and return its path."""
    storage = conn.storagePoolLookupByName(pool)
    volume = ET.Element("volume", type="file")
    ET.SubElement(volume, "name").text = name
    ET.SubElement(volume, "capacity", unit="bytes").text = str(size_bytes)
    ET.SubElement(volume, "allocation", unit="bytes").text = "0"
    ET.SubElement(ET.SubElement(volume, "target"), "format", type="raw")
    xml = ET.tostring(volume, encoding="unicode")
    if clone_of:
        made = storage.createXMLFrom(xml, storage.storageVolLookupByName(clone_of), 0)
    else:
        made = storage.createXML(xml, 0)
    return str(made.path())


def delete_volume(conn: Any, path: str) -> None:
    """Delete the volume at `path`."""
    conn.storageVolLookupByPath(path).delete(0)


def set_vcpus(dom: Any, count: int) -> bool:
    """Set the vCPU count live (if running) and in the definition; True if it is live now.

    A definition with room above its count (`<vcpu current='4'>8</vcpu>`) keeps its maximum
    unless the count passes it; one without (`<vcpu>4</vcpu>`) stays without.
    """
    before = dom.info()[3]
    live = bool(dom.isActive()) and _tried(lambda: dom.setVcpusFlags(count, LIVE))
    with _undone_on_error(live, lambda: dom.setVcpusFlags(before, LIVE)):
        maximum = dom.vcpusFlags(CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
        without_room = dom.vcpusFlags(CONFIG) >= maximum
        if count > maximum:
            dom.setVcpusFlags(count, CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
        dom.setVcpusFlags(count, CONFIG)
        if without_room and count < maximum:
            _tried(lambda: dom.setVcpusFlags(count, CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM))
    return live


def set_memory(dom: Any, mib: int) -> bool:
    """Set the memory live (if running, within its maximum) and in the definition; True if live now."""
    kib = mib * 1024
    before = dom.info()[2]
    live = bool(dom.isActive()) and _tried(lambda: dom.setMemoryFlags(kib, LIVE))
    # LIVE and CONFIG in one call is refused by some drivers, so the definition is set apart.
    with _undone_on_error(live, lambda: dom.setMemoryFlags(before, LIVE)):
        if mib > _defined(dom).max_memory_mib:
            dom.setMemoryFlags(kib, CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
        dom.setMemoryFlags(kib, CONFIG)
    return live


def attach(conn: Any, dom: Any, xml: str) -> bool:
    """Add a device live and to the definition, or to the definition only; True if live."""
    if dom.isActive() and _tried(lambda: dom.attachDeviceFlags(xml, LIVE | CONFIG)):
        return True
    if not _tried(lambda: dom.attachDeviceFlags(xml, CONFIG)):
        _redefine(conn, dom, lambda devices: devices.append(ET.fromstring(xml)))
    return False


def detach(conn: Any, dom: Any, xml: str) -> bool:
    """Remove a device live and from the definition, or from the definition only; True if gone live."""
    wanted = ET.fromstring(xml)
    if dom.isActive() and _tried(lambda: dom.detachDeviceFlags(xml, LIVE | CONFIG)):
        # A hot-unplug is a request the guest must honour (ACPI); libvirt may return before it has.
        return not _has_device(ET.fromstring(dom.XMLDesc(0)), wanted)
    if not _tried(lambda: dom.detachDeviceFlags(xml, CONFIG)):
        _redefine(conn, dom, lambda devices: _remove_matching(devices, wanted))
    return False


@contextlib.contextmanager
def _undone_on_error(done: bool, undo: Callable[[], Any]) -> Iterator[None]:
    """If the definition cannot be changed after the live change was made, take the live one back."""
    try:
        yield
    except libvirt.libvirtError:
        if done:
            with contextlib.suppress(libvirt.libvirtError):
                undo()
        raise


def _tried(call: Callable[[], Any]) -> bool:
    """Run a call; False if libvirt says it cannot do it this way, other errors go up."""
    try:
        call()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() in _CANNOT:
            return False
        raise
    return True


def _defined(dom: Any) -> Any:
    xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    return parse_domain(xml, host="", state=VMState.UNKNOWN)


def _redefine(conn: Any, dom: Any, edit: Callable[[ET.Element], None]) -> None:
    """Edit the persistent definition's <devices> and define it again (the driver's own fallback)."""
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
    root = ET.fromstring(dom.XMLDesc(flags))
    devices = root.find("devices")
    if devices is None:
        devices = ET.SubElement(root, "devices")
    edit(devices)
    conn.defineXML(ET.tostring(root, encoding="unicode"))


def _has_device(root: ET.Element, wanted: ET.Element) -> bool:
    devices = root.find("devices")
    key = _identity(wanted)
    return devices is not None and any(_identity(e) == key for e in devices.findall(wanted.tag))


def _remove_matching(devices: ET.Element, wanted: ET.Element) -> None:
    """Drop the device of `wanted`'s kind with the same MAC (NIC) or target (disk)."""
    key = _identity(wanted)
    for element in devices.findall(wanted.tag):
        if _identity(element) == key:
            devices.remove(element)
            return
    raise libvirt.libvirtError(f"no {wanted.tag} matching {key} in the definition")


def _identity(element: ET.Element) -> str:
    mac, target = element.find("mac"), element.find("target")
    if element.tag == "interface" and mac is not None:
        return mac.get("address", "").lower()
    return target.get("dev", "") if target is not None else ""
