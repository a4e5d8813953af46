"""Reading libvirt domain XML into our VM dataclass, and granja's metadata block.

Only configuration is read here; state, autostart and placement come from
libvirt calls and are passed in. The XML itself is kept beside the model
(`VM.definition`) so that `recover` can define the VM elsewhere as it was,
with graphics passwords (`passwd` attributes) stripped first: no secret is
stored, so nothing downstream can publish one. That a console had a password
is kept (`VM.consoles`): `recover` brings such a console back on loopback
only (hypervisor/consoles.py).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hypervisor.consoles import consoles_of
from hypervisor.errors import BadDomainXML
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState

GRANJA_NS = "https://granja.dev/xmlns/vm/1"
GRANJA_PREFIX = "granja"
# Xen reports paravirtualized guests as `xen` (xl/libxl) or `linux` (old xend); `xenpvh` is PVH.
PV_OS_TYPES = frozenset({"xen", "linux"})
VIRT_OF_OS_TYPE = {"xen": Virt.PV, "linux": Virt.PV, "xenpvh": Virt.PVH, "hvm": Virt.HVM}
# Every unit libvirt's <memory unit> accepts, in bytes (docs: formatdomain "Memory Allocation");
# the decimal ones are powers of 1000, the binary ones (and the single letters) of 1024.
UNIT_BYTES = {
    "b": 1, "bytes": 1,
    "kb": 1000, "k": 1024, "kib": 1024,
    "mb": 1000**2, "m": 1024**2, "mib": 1024**2,
    "gb": 1000**3, "g": 1024**3, "gib": 1024**3,
    "tb": 1000**4, "t": 1024**4, "tib": 1024**4,
    "pb": 1000**5, "p": 1024**5, "pib": 1024**5,
    "eb": 1000**6, "e": 1024**6, "eib": 1024**6,
}
_INDENT = re.compile(r">\n[ \t]*<")
_PASSWD = re.compile(r"""\s+passwd\s*=\s*(?:"[^"]*"|'[^']*')""")


def parse_domain(
    xml: str,
    *,
    host: str,
    state: VMState,
    autostart: bool = False,
    persistent: bool = True,
) -> VM:
    """Build a VM from a domain's XML description and the facts libvirt gives beside it."""
    root = ET.fromstring(xml)
    name = root.findtext("name", "").strip()
    os_type = root.findtext("os/type", "").strip()
    vcpus, max_vcpus = _vcpus(root)
    return VM(
        name=name,
        uuid=root.findtext("uuid", "").strip(),
        host=host,
        state=state,
        vcpus=vcpus,
        max_vcpus=max_vcpus if max_vcpus > vcpus else 0,
        memory_mib=_mib(root.find("currentMemory"), name) or _mib(root.find("memory"), name),
        max_memory_mib=_mib(root.find("memory"), name),
        virt=VIRT_OF_OS_TYPE.get(os_type, Virt.HVM),
        os_type=os_type,
        kernel=root.findtext("os/kernel", "").strip(),
        initrd=root.findtext("os/initrd", "").strip(),
        cmdline=root.findtext("os/cmdline", ""),
        bootloader=root.findtext("bootloader", "").strip(),
        bootloader_args=root.findtext("bootloader_args", ""),
        disks=tuple(_disk(d) for d in root.findall("devices/disk")),
        nics=tuple(_nic(i) for i in root.findall("devices/interface")),
        autostart=autostart,
        persistent=persistent,
        on_poweroff=root.findtext("on_poweroff", "destroy").strip(),
        on_reboot=root.findtext("on_reboot", "restart").strip(),
        on_crash=root.findtext("on_crash", "destroy").strip(),
        meta=parse_meta(root),
        consoles=consoles_of(root),
        definition=without_secrets(xml),
    )


def without_secrets(xml: str) -> str:
    """The domain XML with every `passwd` attribute (graphics passwords) and its indentation removed.

    Only the line breaks and indentation libvirt puts between elements go (a third of the text);
    every element, attribute and text is kept as the host reported it.
    """
    xml = _INDENT.sub("><", xml)
    return _PASSWD.sub("", xml) if "passwd" in xml else xml


def parse_meta(root: ET.Element) -> GranjaMeta:
    """Read granja's metadata block from a domain element (empty if absent)."""
    block = root.find(f"metadata/{{{GRANJA_NS}}}vm")
    if block is None:
        return GranjaMeta()

    def text(tag: str) -> str:
        return (block.findtext(f"{{{GRANJA_NS}}}{tag}") or "").strip()

    return GranjaMeta(cluster=text("cluster"), template=text("template"), baseline_id=text("baseline"))


def meta_xml(meta: GranjaMeta) -> str:
    """The metadata element for `virDomain.setMetadata`, without the namespace prefix."""
    block = ET.Element("vm")
    for tag, value in (("cluster", meta.cluster), ("template", meta.template),
                       ("baseline", meta.baseline_id)):
        if value:
            ET.SubElement(block, tag).text = value
    return ET.tostring(block, encoding="unicode")


def _vcpus(root: ET.Element) -> tuple[int, int]:
    """(current, maximum): `<vcpu current='4'>8</vcpu>` runs 4 and may grow to 8."""
    vcpu = root.find("vcpu")
    if vcpu is None:
        return 1, 1
    most = int((vcpu.text or "1").strip())
    current = vcpu.get("current")
    return (int(current) if current else most), most


def memory_bytes(value: str, unit: str, *, vm: str = "") -> int:
    """A memory size as libvirt reads it: `value` in `unit` (KiB when none); unknown units are refused."""
    factor = UNIT_BYTES.get(unit.lower())
    if factor is None:
        known = ", ".join(sorted({u for u in UNIT_BYTES if u != "bytes"}, key=lambda u: (len(u), u)))
        raise BadDomainXML(f"{vm or 'a domain'}: memory unit {unit!r} is not one libvirt knows "
                           f"(units: bytes, {known}, in any case)")
    return int(value.strip()) * factor


def _mib(element: ET.Element | None, vm: str) -> int:
    if element is None or not (element.text or "").strip():
        return 0
    return memory_bytes(element.text or "", element.get("unit", "KiB"), vm=vm) // 1024**2


def _disk(element: ET.Element) -> Disk:
    source = element.find("source")
    attrs = source.attrib if source is not None else {}
    path = attrs.get("file") or attrs.get("dev") or attrs.get("volume") or attrs.get("name", "")
    target = element.find("target")
    driver = element.find("driver")
    hosts = () if source is None else tuple(_server(h.attrib) for h in source.findall("host"))
    return Disk(
        target=target.get("dev", "") if target is not None else "",
        source=path,
        bus=target.get("bus", "") if target is not None else "",
        device=element.get("device", "disk"),
        pool=attrs.get("pool", ""),
        readonly=element.find("readonly") is not None,
        kind=element.get("type", "file"),
        format=driver.get("type", "") if driver is not None else "",
        driver=driver.get("name", "") if driver is not None else "",
        protocol=attrs.get("protocol", ""),
        hosts=hosts,
    )


def _server(attrs: dict[str, str]) -> str:
    """One <host> of a network disk: `name:port`, `name`, or its unix socket path."""
    if attrs.get("socket"):
        return attrs["socket"]
    name = attrs.get("name", "")
    return f"{name}:{attrs['port']}" if attrs.get("port") else name


def _nic(element: ET.Element) -> NIC:
    kind = element.get("type", "bridge")
    source = element.find("source")
    attrs = source.attrib if source is not None else {}
    mac = element.find("mac")
    model = element.find("model")
    script = element.find("script")
    vlan = element.find("vlan")
    tags = () if vlan is None else vlan.findall("tag")
    ids = tuple(int(tag.get("id", "0")) for tag in tags)
    trunk = vlan is not None and vlan.get("trunk") == "yes"
    native = next((tag for tag in tags if tag.get("nativeMode")), None)
    return NIC(
        mac=mac.get("address", "") if mac is not None else "",
        bridge=attrs.get("bridge", "") if kind == "bridge" else "",
        model=model.get("type", "") if model is not None else "",
        # Only a single tag in access mode puts the NIC on one VLAN; a trunk carries several.
        vlan=ids[0] if len(ids) == 1 and not trunk else None,
        type=kind,
        source="" if kind == "bridge" else _nic_source(kind, source),
        source_mode=attrs.get("mode", "") if kind == "direct" else "",
        vlans=ids if trunk or len(ids) > 1 else (),
        trunk=trunk,
        native_vlan=int(native.get("id", "0")) if native is not None else None,
        native_mode=native.get("nativeMode", "") if native is not None else "",
        script=script.get("path", "") if script is not None else "",
    )


def _nic_source(kind: str, source: ET.Element | None) -> str:
    """What a NIC plugs into, by type: bridge, network, host device, or a hostdev's PCI address."""
    if source is None:
        return ""
    attrs = source.attrib
    named = attrs.get("bridge") or attrs.get("network") or attrs.get("dev") or attrs.get("path", "")
    if named:
        return named
    address = source.find("address")
    if address is not None and kind == "hostdev":
        a = address.attrib
        return (f"{a.get('type', 'pci')} {a.get('domain', '0x0000')[2:]}:{a.get('bus', '0x00')[2:]}:"
                f"{a.get('slot', '0x00')[2:]}.{a.get('function', '0x0')[2:]}")
    return ""
