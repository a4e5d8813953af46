"""A disk in no storage pool is not known to be shared: no move takes its VM, a network disk still moves."""

from __future__ import annotations

import pytest

from bot.engine import ChatEvent, Pending
from bot.results import Outcome
from granja.app import open_engine
from tests.conftest import Chat
from tests.farm_ops.helpers import live_vms

POOLED = '<source file="/var/lib/xen/images/{vm}.img" />'
UNPOOLED = "/srv/vmdata/{vm}.img"  # a directory no libvirt pool covers (an NFS mount, or not)
RBD = ('<disk type="network" device="disk"><source protocol="rbd" name="vms/{vm}">'
       '<host name="mon1.example.org" port="6789"/><host name="mon2.example.org" port="6789"/></source>'
       '<target dev="xvda" bus="xen"/></disk>')
NBD_SOCKET = ('<disk type="network" device="disk"><source protocol="nbd" name="{vm}">'
              '<host transport="unix" socket="/run/nbd/{vm}.sock"/></source>'
              '<target dev="xvda" bus="xen"/></disk>')


def _node_file(state, host: str):
    return next((state / "demo").glob(f"**/{host}.xml"))


def _host_of(state, vm: str) -> str:
    engine = open_engine(config=None, state=str(state))
    try:
        return engine.inventory.vm(vm).vm.host
    finally:
        engine.close()


def move_disk_out_of_pools(state, vm: str) -> str:
    """Point the VM's disk at a file outside every pool (in its host's node file); the VM's host."""
    host = _host_of(state, vm)
    node = _node_file(state, host)
    text = node.read_text()
    assert POOLED.format(vm=vm) in text
    node.write_text(text.replace(POOLED.format(vm=vm), f'<source file="{UNPOOLED.format(vm=vm)}" />'))
    return host


def replace_disk(state, vm: str, disk_xml: str) -> str:
    """Replace the VM's disk element (in its host's node file) by `disk_xml`; the VM's host."""
    host = _host_of(state, vm)
    node = _node_file(state, host)
    text = node.read_text()
    source = text.index(POOLED.format(vm=vm))
    start = text.rindex("<disk ", 0, source)
    end = text.index("</disk>", source) + len("</disk>")
    node.write_text(text[:start] + disk_xml.format(vm=vm) + text[end:])
    return host


def _refreshed(state) -> Chat:
    chat = Chat(open_engine(config=None, state=str(state)))
    assert chat.send("refresh").outcome is Outcome.OK, chat.transcript
    return chat


def why(vm: str, host: str) -> str:
    return (f"its disk xvda ({UNPOOLED.format(vm=vm)}) is in no storage pool, so no other host is known "
            f"to reach it")


def what_to_do() -> str:
    return ("If /srv/vmdata is the same storage on every host, define it as a storage pool on each "
            "(virsh pool-define-as NAME dir --target /srv/vmdata) and name that pool in farm.shared_pools.")


def test_migrate_refuses_a_vm_whose_disk_is_in_no_pool_even_with_force(state):
    host = move_disk_out_of_pools(state, "ldap1")
    chat = _refreshed(state)
    assert [d.pool for d in chat.engine.inventory.vm("ldap1").vm.disks] == [""]
    other = next(h for h in chat.engine.farm.host_names if h != host)
    for command in (f"migrate ldap1 to {other}", "migrate ldap1", f"migrate ldap1 to {other} force"):
        reply = chat.send(command)
        assert reply.outcome is Outcome.REFUSED, chat.transcript
        assert chat.transcript == f"Not moving ldap1: {why('ldap1', host)}. {what_to_do()}"
    assert live_vms(chat.engine)["ldap1"].host == host


def test_evacuate_leaves_a_vm_whose_disk_is_in_no_pool_and_says_what_to_do(state):
    host = move_disk_out_of_pools(state, "ldap1")
    chat = _refreshed(state)
    engine = chat.engine
    pending = engine.prepare(ChatEvent(user="root", text=f"evacuate {host}"))
    assert isinstance(pending, Pending), pending
    preview = pending.plan.preview
    assert f"  stays ldap1: {why('ldap1', host)}; {what_to_do()[0].lower()}{what_to_do()[1:-1]}" in preview
    assert engine.confirm(pending, by="root").outcome is Outcome.OK
    assert live_vms(engine)["ldap1"].host == host


def test_a_rolling_migrate_refuses_a_member_whose_disk_is_in_no_pool(state):
    host = move_disk_out_of_pools(state, "ldap1")
    chat = _refreshed(state)
    before = {name: vm.host for name, vm in live_vms(chat.engine).items()}
    reply = chat.send(f"rolling migrate ldap off {host}")
    assert reply.outcome is Outcome.REFUSED, chat.transcript
    assert chat.transcript == f"Not rolling ldap: ldap1 cannot move: {why('ldap1', host)}. {what_to_do()}"
    assert {name: vm.host for name, vm in live_vms(chat.engine).items()} == before


def test_recover_names_the_directory_to_define_as_a_pool(state):
    from tests.scenarios.test_unreachable import break_hosts
    host = move_disk_out_of_pools(state, "ldap1")
    _refreshed(state).engine.close()
    break_hosts(state, **{host: f"test:///nonexistent/{host}.xml"})
    chat = Chat(open_engine(config=None, state=str(state)))
    chat.send(f"recover {host}")
    assert f"  stays ldap1: {why('ldap1', host)}" in chat.transcript


@pytest.mark.parametrize("disk", [RBD], ids=["rbd-with-monitors"])
def test_a_vm_on_a_network_disk_still_moves(state, disk):
    host = replace_disk(state, "ldap1", disk)
    chat = _refreshed(state)
    assert chat.engine.inventory.vm("ldap1").vm.disks[0].kind == "network"
    reply = chat.send("migrate ldap1")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert live_vms(chat.engine)["ldap1"].host != host


def test_a_network_disk_on_a_unix_socket_is_only_on_its_host(state):
    host = replace_disk(state, "ldap1", NBD_SOCKET)
    chat = _refreshed(state)
    reply = chat.send("migrate ldap1")
    assert reply.outcome is Outcome.REFUSED, chat.transcript
    assert chat.transcript.startswith("Not moving ldap1: its disk xvda (nbd ldap1 on /run/nbd/ldap1.sock) "
                                      "is reached through a unix socket: only " + host + " reaches it.")
    assert live_vms(chat.engine)["ldap1"].host == host


def test_a_disk_taken_out_of_its_pool_since_the_preview_keeps_the_vm_where_it_is(engine):
    # ci is shut off: an offline move would define it elsewhere and leave its disk behind.
    vm = engine.inventory.vm("ci").vm
    assert not vm.state.active
    pending = engine.prepare(ChatEvent(user="root", text="migrate ci"))
    assert isinstance(pending, Pending), pending
    driver = engine.farm.driver(vm.host)
    xml = driver.domain_xml("ci")
    driver.define(xml.replace("/var/lib/xen/images/ci.img", UNPOOLED.format(vm="ci")))
    reply = engine.confirm(pending, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary == (f"Nothing was done: since the preview, {why('ci', vm.host)}. {what_to_do()} "
                             "Say 'migrate ci' again for a new preview.")
    assert live_vms(engine)["ci"].host == vm.host


def test_an_evacuation_rechecks_the_disks_of_the_vms_it_moves(engine):
    vm = engine.inventory.vm("ci").vm
    pending = engine.prepare(ChatEvent(user="root", text=f"evacuate {vm.host}"))
    assert isinstance(pending, Pending), pending
    assert "  move ci (shut off" in pending.plan.preview
    before = {name: found.host for name, found in live_vms(engine).items()}
    driver = engine.farm.driver(vm.host)
    driver.define(driver.domain_xml("ci").replace("/var/lib/xen/images/ci.img", UNPOOLED.format(vm="ci")))
    reply = engine.confirm(pending, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary == (f"Nothing was done: since the preview, ci: {why('ci', vm.host)}. "
                             f"Say 'evacuate {vm.host}' again for a new plan.")
    assert {name: found.host for name, found in live_vms(engine).items()} == before


@pytest.mark.parametrize("command", ["migrate ldap1 to host09", "evacuate host07"])
def test_a_moved_vm_keeps_its_pool_in_the_inventory(chat, command):
    """A VM's disk that arrives on a host by a move is a file of that host's pool folder that libvirt
    has not listed yet; the VM recorded after the move must still say which pool holds it, or `check`
    warns that the VM runs from storage only its host reaches."""
    on_host07 = [record.vm.name for record in chat.engine.inventory.vms_on("host07")]
    moved = on_host07 if "evacuate" in command else ["ldap1"]
    assert chat.send(command).outcome is Outcome.OK, chat.transcript
    for name in moved:
        record = chat.engine.inventory.vm(name)
        assert record is not None
        assert [disk.pool for disk in record.vm.disks if disk.device == "disk"] == ["local"], name
    chat.send("check")
    assert "in no storage pool" not in chat.transcript
