"""A recovered VM's consoles: none comes back open without its password (hypervisor/consoles.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from hypervisor.domain_xml import parse_domain
from hypervisor.model import Console, VMState
from hypervisor.recovery import definition_for

DOMAIN = """<domain type='xen'><name>web1</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
<memory>524288</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices>{}</devices></domain>"""


def _recovered(graphics: str, *, recorded: bool = True) -> tuple[list[ET.Element], str]:
    vm = parse_domain(DOMAIN.format(graphics), host="host01", state=VMState.RUNNING)
    if not recorded:  # recorded by a granja that did not read consoles
        vm = replace(vm, consoles=None)
    xml = definition_for(vm, domain_type="xen")
    assert "secret" not in vm.definition
    assert "secret" not in xml
    return ET.fromstring(xml).findall("devices/graphics"), xml


def _listens(graphics: ET.Element) -> tuple[str | None, list[dict[str, str]]]:
    return graphics.get("listen"), [dict(listen.attrib) for listen in graphics.findall("listen")]


def test_a_console_with_a_password_on_every_address_comes_back_on_loopback_only():
    [graphics], _xml = _recovered("<graphics type='vnc' port='-1' listen='0.0.0.0' passwd='secret'>"
                                  "<listen type='address' address='0.0.0.0'/></graphics>")
    assert _listens(graphics) == ("127.0.0.1", [{"type": "address", "address": "127.0.0.1"}])
    assert graphics.get("passwd") is None


def test_a_console_on_a_network_or_an_address_without_a_password_is_closed_too():
    spice, vnc, rdp = _recovered(
        "<graphics type='spice' autoport='yes'><listen type='network' network='lan'/></graphics>"
        "<graphics type='vnc' listen='192.0.2.7'/>"
        "<graphics type='rdp' listen='::'/>")[0]
    assert _listens(spice) == ("127.0.0.1", [{"type": "address", "address": "127.0.0.1"}])
    assert _listens(vnc) == ("127.0.0.1", [{"type": "address", "address": "127.0.0.1"}])
    assert _listens(rdp) == ("127.0.0.1", [{"type": "address", "address": "127.0.0.1"}])


def test_a_console_with_a_password_and_the_hosts_default_listen_gets_loopback():
    [graphics], _xml = _recovered("<graphics type='vnc' port='-1' passwd='secret'/>")
    assert _listens(graphics) == ("127.0.0.1", [{"type": "address", "address": "127.0.0.1"}])


def test_local_consoles_and_ones_without_a_network_are_left_as_they_were():
    text = ("<graphics type='vnc' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>"
            "<graphics type='vnc'><listen type='socket' socket='/run/vnc.sock'/></graphics>"
            "<graphics type='vnc' port='-1'/>"
            "<graphics type='sdl' display=':0.0'/>")
    vm = parse_domain(DOMAIN.format(text), host="host01", state=VMState.RUNNING)
    assert definition_for(vm, domain_type="xen") == vm.definition  # not even re-serialized
    assert [c.text for c in vm.consoles or ()] == ["vnc on 127.0.0.1", "vnc on socket", "vnc", "sdl"]


def test_a_vm_recorded_before_consoles_were_read_is_closed_from_its_definition():
    [graphics], _xml = _recovered("<graphics type='vnc' listen='0.0.0.0' passwd='secret'/>", recorded=False)
    assert _listens(graphics)[0] == "127.0.0.1"


def test_consoles_are_part_of_the_configuration_only_once_read():
    vm = parse_domain(DOMAIN.format("<graphics type='vnc' listen='0.0.0.0' passwd='secret'/>"),
                      host="host01", state=VMState.RUNNING)
    assert vm.consoles == (Console("vnc", "0.0.0.0", password=True),)
    assert vm.config()["consoles"] == ["vnc on 0.0.0.0 with a password"]
    assert "consoles" not in replace(vm, consoles=None).config()  # older records: no drift from it
