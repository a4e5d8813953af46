"""Reading libvirt domain XML into our VM dataclass, and granja's metadata block.

Only configuration is read here; state, autostart and placement come from
libvirt calls and are passed in. Secrets (graphics passwords) are never read
into the model, so nothing downstream can publish them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState

GRANJA_NS = "https://granja.dev/xmlns/vm/1"
GRANJA_PREFIX = "granja"
# Xen reports paravirtualized guests as `xen` (xl/libxl) or `linux` (old xend).
PV_OS_TYPES = frozenset({"xen", "linux"})
_UNIT_KIB = {"b": 1 / 1024, "bytes": 1 / 1024, "kib": 1, "k": 1, "mib": 1024, "m": 1024,
             "gib": 1024**2, "g": 1024**2, "tib": 1024**3, "t": 1024**3}


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
    os_type = root.findtext("os/type", "").strip()
    return VM(
        name=root.findtext("name", "").strip(),
        uuid=root.findtext("uuid", "").strip(),
        host=host,
        state=state,
        vcpus=_vcpus(root),
        memory_mib=_mib(root.find("currentMemory")) or _mib(root.find("memory")),
        max_memory_mib=_mib(root.find("memory")),
        virt=Virt.PV if os_type in PV_OS_TYPES else Virt.HVM,
        os_type=os_type,
        kernel=root.findtext("os/kernel", "").strip(),
        bootloader=root.findtext("bootloader", "").strip(),
        disks=tuple(_disk(d) for d in root.findall("devices/disk")),
        nics=tuple(_nic(i) for i in root.findall("devices/interface")),
        autostart=autostart,
        persistent=persistent,
        on_poweroff=root.findtext("on_poweroff", "destroy").strip(),
        on_reboot=root.findtext("on_reboot", "restart").strip(),
        on_crash=root.findtext("on_crash", "destroy").strip(),
        meta=parse_meta(root),
    )


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


def _vcpus(root: ET.Element) -> int:
    vcpu = root.find("vcpu")
    if vcpu is None:
        return 1
    current = vcpu.get("current")
    return int(current if current else (vcpu.text or "1").strip())


def _mib(element: ET.Element | None) -> int:
    if element is None or not (element.text or "").strip():
        return 0
    factor = _UNIT_KIB.get(element.get("unit", "KiB").lower(), 1)
    return int(int(element.text.strip()) * factor) // 1024  # type: ignore[union-attr]


def _disk(element: ET.Element) -> Disk:
    source = element.find("source")
    attrs = source.attrib if source is not None else {}
    path = attrs.get("file") or attrs.get("dev") or attrs.get("volume") or attrs.get("name", "")
    target = element.find("target")
    return Disk(
        target=target.get("dev", "") if target is not None else "",
        source=path,
        bus=target.get("bus", "") if target is not None else "",
        device=element.get("device", "disk"),
        pool=attrs.get("pool", ""),
        readonly=element.find("readonly") is not None,
    )


def _nic(element: ET.Element) -> NIC:
    source = element.find("source")
    mac = element.find("mac")
    model = element.find("model")
    tag = element.find("vlan/tag")
    return NIC(
        mac=mac.get("address", "") if mac is not None else "",
        bridge=(source.get("bridge") or source.get("network") or "") if source is not None else "",
        model=model.get("type", "") if model is not None else "",
        vlan=int(tag.get("id", "0")) if tag is not None else None,
    )
