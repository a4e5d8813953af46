"""Persistence for libvirt's test driver, the simulated hosts of the demo farm.

The test driver reads a node file at `open()` and keeps every change in that
connection's memory. A real host keeps its own state, so to behave like one a
simulated host writes its state back to its node file after each change, and
a process re-opens the file when another process has changed it. This module
is the only place that knows this; for any other URI it does nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from hypervisor.domain_xml import GRANJA_NS

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
_AUTOSTART = f"{{{GRANJA_NS}}}autostart"
ET.register_namespace("test", TEST_NS)
ET.register_namespace("granja", GRANJA_NS)


def node_path(uri: str) -> Path | None:
    """The node file behind a test-driver URI such as test:///farm/host01.xml, else None."""
    if not uri.startswith("test:///") or uri.startswith("test:///default"):
        return None
    return Path(unquote(uri[len("test://"):].split("?", 1)[0]))


def signature(path: Path) -> tuple[int, int, int]:
    """What changes when any process rewrites the node file."""
    st = path.stat()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialize changes to one simulated host across processes."""
    with open(f"{path}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def autostart_names(path: Path) -> set[str]:
    """Domains the node file marks for autostart (the test driver does not read this itself)."""
    root = ET.parse(path).getroot()
    return {el.get("domain", "") for el in root.iter(_AUTOSTART)}


def apply_autostart(conn: Any, path: Path) -> None:
    """Restore the autostart flags recorded in the node file on a freshly opened connection."""
    for name in autostart_names(path):
        with contextlib.suppress(Exception):
            conn.lookupByName(name).setAutostart(1)


def save(conn: Any, path: Path) -> None:
    """Write the connection's domains and pools back into the node file, atomically."""
    import libvirt

    tree = ET.parse(path)
    root = tree.getroot()
    for element in list(root):
        if element.tag in ("domain", "pool", _AUTOSTART):
            root.remove(element)
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
    for dom in conn.listAllDomains():
        element = ET.fromstring(dom.XMLDesc(flags))
        state = dom.state()[0]
        ET.SubElement(element, f"{{{TEST_NS}}}runstate").text = str(state)
        if dom.hasManagedSaveImage():
            ET.SubElement(element, f"{{{TEST_NS}}}hasmanagedsave")
        if not dom.isPersistent():
            ET.SubElement(element, f"{{{TEST_NS}}}transient")
        root.append(element)
        if dom.autostart():
            ET.SubElement(root, _AUTOSTART, domain=dom.name())
    for pool in conn.listAllStoragePools():
        element = ET.fromstring(pool.XMLDesc(0))
        for volume in pool.listAllVolumes():
            element.append(ET.fromstring(volume.XMLDesc(0)))
        root.append(element)
    _write_atomically(path, ET.tostring(root, encoding="unicode"))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
