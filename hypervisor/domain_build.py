"""Writing libvirt domain XML for a VM dataclass: the inverse of `domain_xml.parse_domain`.

Built with ElementTree, never by pasting strings, so any name or path is
escaped. For libvirt's test driver (`domain_type="test"`) a VM that is not
running also gets the driver's `<test:runstate>`, so a node file can hold
shut-off and paused guests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt

from hypervisor.domain_xml import GRANJA_NS
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState, default_bus, disk_kind

__all__ = ["DEFAULT_CMDLINE", "GRANJA_NS", "PYGRUB", "TEST_NS", "build_domain", "device_xml",
           "domain_element", "domain_type"]

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
PYGRUB = "/usr/lib/xen/bin/pygrub"
DEFAULT_CMDLINE = "root=/dev/xvda1 ro console=hvc0"
ET.register_namespace("granja", GRANJA_NS)
ET.register_namespace("test", TEST_NS)

# The test driver starts every domain in its node file unless told otherwise.
_TEST_RUNSTATES = {
    VMState.PAUSED: libvirt.VIR_DOMAIN_PAUSED,
    VMState.SHUTOFF: libvirt.VIR_DOMAIN_SHUTOFF,
    VMState.SAVED: libvirt.VIR_DOMAIN_SHUTOFF,
    VMState.CRASHED: libvirt.VIR_DOMAIN_CRASHED,
    VMState.PMSUSPENDED: libvirt.VIR_DOMAIN_PMSUSPENDED,
}


def build_domain(vm: VM, *, domain_type: str = "xen") -> str:
    """Return libvirt domain XML describing `vm` (Xen PV, PVH or HVM) for `defineXML`."""
    element = domain_element(vm, domain_type=domain_type)
    ET.indent(element)
    return ET.tostring(element, encoding="unicode")


def domain_element(vm: VM, *, domain_type: str = "xen") -> ET.Element:
    """Return the <domain> element for `vm`, to embed in a larger document such as a node file."""
    root = ET.Element("domain", type=domain_type)
    _text(root, "name", vm.name)
    if vm.uuid:
        _text(root, "uuid", vm.uuid)
    _metadata(root, vm.meta)
    _text(root, "memory", str(max(vm.max_memory_mib, vm.memory_mib) * 1024), unit="KiB")
    _text(root, "currentMemory", str(vm.memory_mib * 1024), unit="KiB")
    most = max(vm.max_vcpus, vm.vcpus)
    if most > vm.vcpus:
        _text(root, "vcpu", str(most), current=str(vm.vcpus))
    else:
        _text(root, "vcpu", str(vm.vcpus))
    _boot(root, vm)
    _text(root, "on_poweroff", vm.on_poweroff)
    _text(root, "on_reboot", vm.on_reboot)
    _text(root, "on_crash", vm.on_crash)
    devices = ET.SubElement(root, "devices")
    for disk in vm.disks:
        _disk(devices, disk)
    for nic in vm.nics:
        _nic(devices, nic)
    runstate = _TEST_RUNSTATES.get(vm.state)
    if domain_type == "test" and runstate is not None:
        _text(root, f"{{{TEST_NS}}}runstate", str(runstate))
    return root


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _metadata(root: ET.Element, meta: GranjaMeta) -> None:
    values = (("cluster", meta.cluster), ("template", meta.template), ("baseline", meta.baseline_id))
    if not any(value for _, value in values):
        return
    block = ET.SubElement(ET.SubElement(root, "metadata"), f"{{{GRANJA_NS}}}vm")
    for tag, value in values:
        if value:
            _text(block, f"{{{GRANJA_NS}}}{tag}", value)


_OS_TYPES = {Virt.PV: "xen", Virt.PVH: "xenpvh", Virt.HVM: "hvm"}


def _boot(root: ET.Element, vm: VM) -> None:
    # A new PV guest without a kernel of its own gets pygrub from its template (provision); a VM
    # read from a host is written as it was, without adding a bootloader it did not have.
    if vm.bootloader:
        _text(root, "bootloader", vm.bootloader)
        if vm.bootloader_args:
            _text(root, "bootloader_args", vm.bootloader_args)
    os_element = ET.SubElement(root, "os")
    _text(os_element, "type", _OS_TYPES[vm.virt])
    if vm.kernel:
        _text(os_element, "kernel", vm.kernel)
        if vm.initrd:
            _text(os_element, "initrd", vm.initrd)
        if vm.cmdline:
            _text(os_element, "cmdline", vm.cmdline)
    if vm.virt is Virt.HVM:
        ET.SubElement(os_element, "boot", dev="hd")


# The <source> attribute that names each kind of disk's data.
_SOURCE_ATTR = {"block": "dev", "file": "file", "dir": "dir"}


def _disk(devices: ET.Element, disk: Disk) -> None:
    kind = disk_kind(disk)
    element = ET.SubElement(devices, "disk", type=kind, device=disk.device)
    driver = {k: v for k, v in (("name", disk.driver), ("type", disk.format)) if v}
    if driver:  # a disk read without a <driver> is written without one: libvirt picks the same again
        ET.SubElement(element, "driver", driver)
    if kind == "volume":
        ET.SubElement(element, "source", pool=disk.pool, volume=disk.source)
    elif kind == "network":
        source = ET.SubElement(element, "source", protocol=disk.protocol)
        if disk.source:
            source.set("name", disk.source)
        for server in disk.hosts:
            ET.SubElement(source, "host", _server_attrs(server))
    elif disk.source:  # an empty CD-ROM or floppy drive has no <source>
        ET.SubElement(element, "source", {_SOURCE_ATTR.get(kind, "file"): disk.source})
    ET.SubElement(element, "target", dev=disk.target, bus=disk.bus or default_bus(disk.target) or "xen")
    if disk.readonly:
        ET.SubElement(element, "readonly")


def _server_attrs(server: str) -> dict[str, str]:
    if server.startswith("/"):
        return {"transport": "unix", "socket": server}
    name, _, port = server.rpartition(":") if ":" in server else (server, "", "")
    return {"name": name, "port": port} if port else {"name": name}


def _nic(devices: ET.Element, nic: NIC) -> None:
    element = ET.SubElement(devices, "interface", type=nic.type)
    ET.SubElement(element, "mac", address=nic.mac)
    source = _nic_source(nic)
    if source is not None:
        element.append(source)
    tags = (nic.vlan,) if nic.vlan is not None else nic.vlans
    if tags:
        # libvirt tags a guest port itself only on an Open vSwitch bridge.
        vlan = ET.SubElement(element, "vlan", trunk="yes") if nic.trunk else ET.SubElement(element, "vlan")
        for tag in tags:
            attrs = {"id": str(tag)}
            if tag == nic.native_vlan and nic.native_mode:
                attrs["nativeMode"] = nic.native_mode
            ET.SubElement(vlan, "tag", attrs)
        ET.SubElement(element, "virtualport", type="openvswitch")
    if nic.script:
        ET.SubElement(element, "script", path=nic.script)
    if nic.model:
        ET.SubElement(element, "model", type=nic.model)


def _nic_source(nic: NIC) -> ET.Element | None:
    where = nic.source or nic.bridge
    if nic.type == "bridge":  # NICs made by granja name only their bridge
        return ET.Element("source", bridge=where)
    if nic.type == "network":
        return ET.Element("source", network=where)
    if nic.type == "direct":
        return ET.Element("source", {"dev": where, **({"mode": nic.source_mode} if nic.source_mode else {})})
    if nic.type == "hostdev" and where.startswith("pci "):
        domain, bus, rest = where[4:].split(":")
        slot, function = rest.split(".")
        source = ET.Element("source")
        ET.SubElement(source, "address", type="pci", domain=f"0x{domain}", bus=f"0x{bus}",
                      slot=f"0x{slot}", function=f"0x{function}")
        return source
    return None


def device_xml(device: Disk | NIC) -> str:
    """The XML of one disk or NIC, to attach to (or detach from) a defined VM."""
    holder = ET.Element("devices")
    if isinstance(device, Disk):
        _disk(holder, device)
    else:
        _nic(holder, device)
    return ET.tostring(holder[0], encoding="unicode")


_DOMAIN_TYPES = {"TEST": "test", "QEMU": "qemu", "Xen": "xen"}


def domain_type(driver: str) -> str:
    """The `<domain type>` a host of libvirt driver `driver` ("Xen", "QEMU", "TEST") defines."""
    return _DOMAIN_TYPES.get(driver, "xen")
