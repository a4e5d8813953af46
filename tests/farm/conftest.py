"""Helpers for the farm tests: a VM's definition read straight from its host, the farm's MACs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt
import pytest


def definition(chat, name: str) -> ET.Element | None:
    """The VM's persistent definition as its host's libvirt holds it (None if the host has no such VM)."""
    vm = chat.engine.inventory.vm(name)
    hosts = [vm.vm.host] if vm else chat.engine.farm.host_names
    for host in hosts:
        conn = libvirt.open(chat.engine.farm.driver(host).uri)
        try:
            dom = conn.lookupByName(name)
            return ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        except libvirt.libvirtError:
            continue
        finally:
            conn.close()
    return None


def volumes(chat, host: str, pool: str = "local") -> dict[str, int]:
    """Volume path -> capacity in a host's pool, read through a fresh connection (as another process)."""
    conn = libvirt.open(chat.engine.farm.driver(host).uri)
    try:
        return {v.path(): v.info()[1] for v in conn.storagePoolLookupByName(pool).listAllVolumes()}
    finally:
        conn.close()


def farm_macs(chat) -> list[str]:
    """Every guest MAC on every host, asked live."""
    survey = chat.engine.farm.survey()
    return [nic.mac.lower() for vm in survey.vms for nic in vm.nics]


@pytest.fixture
def extra_templates(state):
    """Add to the demo config before the engine opens: templates too big or without their image, a VLAN
    no host has a bridge for."""
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text() + """
[networks.lab]
vlan = 300
bridge = "br300"

[templates.huge]
vcpus = 4
memory = "900G"
networks = ["mgmt"]

[templates.noimage]
vcpus = 1
memory = "1G"
image = "no-such-image.img"
networks = ["mgmt"]
""")
    return config
