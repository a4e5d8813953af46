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
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState

__all__ = ["DEFAULT_CMDLINE", "GRANJA_NS", "PYGRUB", "TEST_NS", "build_domain", "device_xml",
           "domain_element"]

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


def build_domain(vm: VM, *, domain_type: str = "xen", cmdline: str = DEFAULT_CMDLINE) -> str:
    """Return libvirt domain XML describing `vm` (Xen PV or HVM) for `defineXML`."""
    element = domain_element(vm, domain_type=domain_type, cmdline=cmdline)
    ET.indent(element)
    return ET.tostring(element, encoding="unicode")


def domain_element(vm: VM, *, domain_type: str = "xen", cmdline: str = DEFAULT_CMDLINE) -> ET.Element:
    """Return the <domain> element for `vm`, to embed in a larger document such as a node file."""
    root = ET.Element("domain", type=domain_type)
    _text(root, "name", vm.name)
    if vm.uuid:
        _text(root, "uuid", vm.uuid)
    _metadata(root, vm.meta)
    _text(root, "memory", str(max(vm.max_memory_mib, vm.memory_mib) * 1024), unit="KiB")
    _text(root, "currentMemory", str(vm.memory_mib * 1024), unit="KiB")
    _text(root, "vcpu", str(vm.vcpus))
    _boot(root, vm, cmdline)
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


def _boot(root: ET.Element, vm: VM, cmdline: str) -> None:
    if vm.virt is Virt.HVM:
        os_element = ET.SubElement(root, "os")
        _text(os_element, "type", "hvm")
        ET.SubElement(os_element, "boot", dev="hd")
        return
    if not vm.kernel:
        # Without a kernel of its own a PV guest boots the kernel inside its disk through pygrub.
        _text(root, "bootloader", vm.bootloader or PYGRUB)
    os_element = ET.SubElement(root, "os")
    _text(os_element, "type", "xen")
    if vm.kernel:
        _text(os_element, "kernel", vm.kernel)
        if cmdline:
            _text(os_element, "cmdline", cmdline)


def _disk(devices: ET.Element, disk: Disk) -> None:
    if disk.source.startswith("/dev/"):
        element = ET.SubElement(devices, "disk", type="block", device=disk.device)
        ET.SubElement(element, "driver", name="phy")
        ET.SubElement(element, "source", dev=disk.source)
    elif disk.pool and not disk.source.startswith("/"):
        element = ET.SubElement(devices, "disk", type="volume", device=disk.device)
        ET.SubElement(element, "driver", name="qemu", type="raw")
        ET.SubElement(element, "source", pool=disk.pool, volume=disk.source)
    else:
        element = ET.SubElement(devices, "disk", type="file", device=disk.device)
        ET.SubElement(element, "driver", name="qemu", type="raw")
        ET.SubElement(element, "source", file=disk.source)
    ET.SubElement(element, "target", dev=disk.target, bus=disk.bus or "xen")
    if disk.readonly:
        ET.SubElement(element, "readonly")


def _nic(devices: ET.Element, nic: NIC) -> None:
    element = ET.SubElement(devices, "interface", type="bridge")
    ET.SubElement(element, "mac", address=nic.mac)
    ET.SubElement(element, "source", bridge=nic.bridge)
    if nic.vlan is not None:
        # libvirt tags a guest port itself only on an Open vSwitch bridge.
        ET.SubElement(ET.SubElement(element, "vlan"), "tag", id=str(nic.vlan))
        ET.SubElement(element, "virtualport", type="openvswitch")
    if nic.model:
        ET.SubElement(element, "model", type=nic.model)


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
