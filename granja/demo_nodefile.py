"""Writing one simulated host as a libvirt test-driver node file.

A node file holds the host's CPU and memory, its domains (with
`<test:runstate>` for those not running), a storage pool "local" with a
volume per disk image, and the host's network as libvirt interface XML: two
bonds, VLAN sub-interfaces and one bridge per guest VLAN. Autostart, which
the test driver does not read from the file, is recorded as
`<granja:autostart domain="..."/>` for `hypervisor.testnode` to apply.
"""

from __future__ import annotations

import ipaddress
import uuid
import xml.etree.ElementTree as ET

from granja.demo_catalogue import NETWORKS, OS_IMAGE, OS_IMAGE_GIB, STORAGE_VLAN
from granja.demo_plan import GIB, IMAGE_DIR, POOL, HostPlan
from hypervisor.domain_build import GRANJA_NS, domain_element

MIB = 1024**2
# libvirt's test driver gives every pool 100 GiB and adds its volumes' allocations to it:
# images are sparse, and their allocations are kept under this much per host, leaving room for
# the volumes `create` clones (the test driver allocates a clone in full).
POOL_BUDGET = 40 * GIB
MGMT_NET = ipaddress.IPv4Network("10.10.0.0/16")
STORAGE_NET = ipaddress.IPv4Network(f"10.{STORAGE_VLAN}.0.0/16")
# (NIC, bond, speed in Mbit/s): the 10G pair carries the guest VLANs, the 1G pair management.
PORTS = (("eth0", "bond0", 10000), ("eth1", "bond0", 10000),
         ("eth2", "bond1", 1000), ("eth3", "bond1", 1000))
BOND_MODES = {"bond0": "802.3ad", "bond1": "active-backup"}


def node_xml(host: HostPlan) -> str:
    """Return the whole node file of `host` for libvirt's test driver."""
    root = ET.Element("node")
    _cpu(root, host)
    ET.SubElement(root, "memory").text = str(host.memory_mib * 1024)
    for vm in host.vms:
        root.append(domain_element(vm, domain_type="test"))
    for vm in host.vms:
        if vm.autostart:
            ET.SubElement(root, f"{{{GRANJA_NS}}}autostart", domain=vm.name)
    root.append(_pool(host))
    root.extend(_interfaces(host))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _cpu(root: ET.Element, host: HostPlan) -> None:
    """Two NUMA nodes of one socket each, hyper-threaded: cores = 2 x cores-per-socket x 2."""
    cpu = ET.SubElement(root, "cpu")
    for tag, value in (("mhz", host.mhz), ("model", host.cpu_model), ("active", host.cores),
                       ("nodes", 2), ("sockets", 1), ("cores", host.cores // 4), ("threads", 2)):
        ET.SubElement(cpu, tag).text = str(value)


def _pool(host: HostPlan) -> ET.Element:
    pool = ET.Element("pool", type="dir")
    ET.SubElement(pool, "name").text = POOL
    ET.SubElement(pool, "uuid").text = str(uuid.uuid5(uuid.NAMESPACE_URL, f"granja:{host.name}/{POOL}"))
    ET.SubElement(ET.SubElement(pool, "target"), "path").text = IMAGE_DIR
    disks = [disk for vm in host.vms for disk in vm.disks]
    capacity = sum(disk.size_bytes or 0 for disk in disks)
    share = min(0.25, POOL_BUDGET / capacity) if capacity else 0.0
    for disk in disks:
        size = disk.size_bytes or 0
        _volume(pool, disk.source.rsplit("/", 1)[-1], size, int(size * share) // MIB * MIB)
    _volume(pool, OS_IMAGE, OS_IMAGE_GIB * GIB, OS_IMAGE_GIB * GIB // 2)
    return pool


def _volume(pool: ET.Element, name: str, capacity: int, allocation: int) -> None:
    volume = ET.SubElement(pool, "volume", type="file")
    ET.SubElement(volume, "name").text = name
    ET.SubElement(volume, "capacity", unit="bytes").text = str(capacity)
    ET.SubElement(volume, "allocation", unit="bytes").text = str(allocation)
    ET.SubElement(ET.SubElement(volume, "target"), "format", type="raw")


def _interfaces(host: HostPlan) -> list[ET.Element]:
    elements = [_bond(host, bond) for bond in BOND_MODES]
    elements.append(_vlan(f"bond1.{STORAGE_VLAN}", STORAGE_VLAN, "bond1",
                          address=_address(STORAGE_NET, host.index)))
    for net in NETWORKS:
        name = f"{net.bond}.{net.vlan}"
        address = _address(MGMT_NET, host.index) if net.name == "mgmt" else None
        elements.append(_vlan(name, net.vlan, net.bond))
        bridge = ET.Element("interface", type="bridge", name=net.bridge)
        ET.SubElement(bridge, "start", mode="onboot")
        if address:
            _ipv4(bridge, address)
        ET.SubElement(bridge, "bridge", stp="off", delay="0").append(_vlan(name, net.vlan, net.bond))
        elements.append(bridge)
    return elements


def _bond(host: HostPlan, name: str) -> ET.Element:
    element = ET.Element("interface", type="bond", name=name)
    ET.SubElement(element, "start", mode="onboot")
    bond = ET.SubElement(element, "bond", mode=BOND_MODES[name])
    ET.SubElement(bond, "miimon", freq="100")
    for port, (nic, owner, speed) in enumerate(PORTS):
        if owner != name:
            continue
        slave = ET.SubElement(bond, "interface", type="ethernet", name=nic)
        ET.SubElement(slave, "mac", address=_host_mac(host.index * len(PORTS) + port))
        # Every fiftieth host, from host07 on, has lost a management link: a degraded bond to find.
        down = nic == "eth3" and host.index % 50 == 6
        ET.SubElement(slave, "link", speed=str(speed), state="down" if down else "up")
    return element


def _vlan(name: str, tag: int, parent: str, *, address: str | None = None) -> ET.Element:
    element = ET.Element("interface", type="vlan", name=name)
    ET.SubElement(element, "start", mode="onboot")
    if address:
        _ipv4(element, address)
    ET.SubElement(ET.SubElement(element, "vlan", {"tag": str(tag)}), "interface", name=parent)
    return element


def _ipv4(element: ET.Element, address: str) -> None:
    ip, prefix = address.split("/")
    ET.SubElement(ET.SubElement(element, "protocol", family="ipv4"), "ip", address=ip, prefix=prefix)


def _address(network: ipaddress.IPv4Network, index: int) -> str:
    return f"{network.network_address + 11 + index}/{network.prefixlen}"


def _host_mac(number: int) -> str:
    """A physical NIC's MAC (Supermicro's prefix), unique across the farm."""
    return "3c:ec:ef:" + ":".join(f"{(number >> shift) & 0xFF:02x}" for shift in (16, 8, 0))
