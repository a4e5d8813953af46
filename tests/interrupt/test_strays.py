"""VMs defined on two hosts: located on the running copy, never moved or started as a stray, repaired."""

from __future__ import annotations

from bot.engine import Engine
from bot.results import Outcome
from tests.conftest import Chat


def stray(engine: Engine, name: str, on: str) -> None:
    """Define a copy of `name` (shut off) on host `on`, as an interrupted move or a crash leaves it."""
    source = engine.inventory.vm(name).vm.host
    engine.farm.driver(on).define(engine.farm.driver(source).domain_xml(name))


def hosts_of(engine: Engine, name: str) -> list[tuple[str, str]]:
    copies, _silent = engine.farm.definitions(name)
    return sorted((vm.host, vm.state.value) for vm in copies)


def test_a_vm_defined_on_two_hosts_is_located_on_its_running_copy(chat):
    # web1 runs on host07; a shut-off copy on host01 sorts first by host name.
    stray(chat.engine, "web1", "host01")
    assert chat.engine.farm.find("web1").vm.host == "host07"
    assert chat.engine.farm.find("web1").strays == ("host01",)
    survey = chat.engine.farm.survey()
    assert next(vm for vm in survey.vms if vm.name == "web1").host == "host07"
    assert survey.strays["web1"] == ("host01",)
    # Told the wrong host, `where` still finds the running copy.
    chat.engine.inventory.record_vm(chat.engine.farm.driver("host01").find_vm("web1"),
                                    at=chat.engine.clock(), command="test", user="test")
    chat.send("where is web1")
    assert chat.transcript.startswith("web1 is on host07 (running)"), chat.transcript


def test_start_refuses_a_vm_shut_off_on_two_hosts_and_repair_resolves_it(chat):
    stray(chat.engine, "ci", "host03")  # ci is shut off on host09
    before = hosts_of(chat.engine, "ci")
    reply = chat.send("start ci")
    assert reply.outcome is Outcome.REFUSED
    assert "Cannot start ci: it is defined on host03 (shut off), host09 (shut off)" in chat.transcript
    assert "say 'repair ci' first" in chat.transcript
    assert hosts_of(chat.engine, "ci") == before
    for command in ("migrate ci to host05", "set ci memory 4G", "attach disk ci 10G", "autostart ci on"):
        assert chat.send(command).outcome is Outcome.REFUSED, command
        assert "say 'repair ci' first" in chat.transcript, chat.transcript
    assert hosts_of(chat.engine, "ci") == before
    chat.send("refresh")
    chat.send("check")
    assert "ci is defined on host03, host09: say 'repair ci'" in chat.transcript
    reply = chat.send("repair ci")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "keep its shut off definition on host09 (where the inventory has it)" in chat.transcript
    assert "undefine the shut off copy on host03 (disks are not touched)" in chat.transcript
    assert hosts_of(chat.engine, "ci") == [("host09", "shut off")]
    disk = chat.engine.inventory.vm("ci").vm.disks[0].source
    assert any(disk in line for line in chat.engine.farm.driver("host09").domain_xml("ci").splitlines())
    chat.send("check")
    assert "repair ci" not in chat.transcript
    assert chat.send("start ci").outcome is Outcome.OK


def test_repair_keeps_the_running_copy_and_restores_autostart_history_true(chat):
    engine = chat.engine
    # An offline move of webmail3 cut short after its start on host15: the autostart step never ran.
    engine.farm.driver("host15").define(engine.farm.driver("host07").domain_xml("webmail3"))
    engine.farm.lifecycle("host07", "webmail3", "destroy")
    engine.farm.lifecycle("host15", "webmail3", "start")
    assert hosts_of(engine, "webmail3") == [("host07", "shut off"), ("host15", "running")]
    reply = chat.send("evacuate host07")
    assert "stays      webmail3: also defined (running on host15): a stray copy is never moved" \
        in chat.transcript, chat.transcript
    assert reply.outcome is Outcome.OK
    assert hosts_of(engine, "webmail3") == [("host07", "shut off"), ("host15", "running")]
    reply = chat.send("repair webmail3")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert ("webmail3 repaired: kept its running definition on host15; undefined the copies on host07 "
            "(disks kept); autostart is on again.") in chat.transcript
    assert hosts_of(engine, "webmail3") == [("host15", "running")]
    assert engine.farm.driver("host15").find_vm("webmail3").autostart
    chat.send("history webmail3")
    newest = chat.transcript.splitlines()[2]
    assert "repair webmail3" in newest, chat.transcript
    assert "host15" in newest, chat.transcript


def test_repair_of_a_vm_defined_once_changes_nothing(chat):
    reply = chat.send("repair web1")
    assert reply.outcome is Outcome.OK
    assert chat.transcript.endswith("web1 is defined only on host07 (running); nothing to repair.")


def test_repair_refuses_two_running_copies(chat: Chat):
    stray(chat.engine, "ci", "host03")
    chat.engine.farm.lifecycle("host03", "ci", "start")
    chat.engine.farm.lifecycle("host09", "ci", "start")
    reply = chat.send("repair ci")
    assert reply.outcome is Outcome.REFUSED
    assert "ci RUNS ON TWO HOSTS, host03 AND host09, at once" in chat.transcript
    assert "say 'repair ci keep host03' or 'repair ci keep host09'" in chat.transcript
    assert hosts_of(chat.engine, "ci") == [("host03", "running"), ("host09", "running")]


def test_recover_never_starts_a_vm_already_defined_on_an_answering_host(state):
    from granja.app import open_engine
    from tests.scenarios.test_unreachable import break_hosts

    engine = open_engine(config=None, state=str(state))
    stray(engine, "ldap2", "host01")  # ldap2 (host13) was already brought up elsewhere by hand
    engine.farm.lifecycle("host01", "ldap2", "start")
    break_hosts(state, host13="test:///nonexistent/host13.xml")
    chat = Chat(open_engine(config=None, state=str(state)))
    reply = chat.send("recover host13")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "stays ldap2: already running on host01" in chat.transcript
    assert [h for h, _s in hosts_of(chat.engine, "ldap2")] == ["host01"]


def test_where_and_a_refused_start_record_the_stray_check_names_it_without_refresh(chat: Chat):
    engine = chat.engine
    # webmail3 runs on host15 after a move cut short; the inventory still has it on host07, shut off there.
    engine.farm.driver("host15").define(engine.farm.driver("host07").domain_xml("webmail3"))
    engine.farm.lifecycle("host07", "webmail3", "destroy")
    engine.farm.lifecycle("host15", "webmail3", "start")
    chat.send("check")
    assert "webmail3 is defined on" not in chat.transcript  # nobody has looked yet
    chat.send("where is webmail3")
    assert "A stray inactive definition of it is also on host07." in chat.transcript, chat.transcript
    chat.send("check")
    assert "webmail3 is defined on host07, host15: say 'repair webmail3'" in chat.transcript, chat.transcript
    stray(engine, "ci", "host03")  # shut off on host09 and host03
    assert chat.send("start ci").outcome is Outcome.REFUSED
    chat.send("check")
    assert "ci is defined on host03, host09: say 'repair ci'" in chat.transcript, chat.transcript
    chat.send("where is ci")
    assert chat.transcript.startswith("ci is on host09 (shut off)"), chat.transcript  # the inventory's copy


def test_an_evacuation_preview_that_finds_a_stray_records_it(chat: Chat):
    stray(chat.engine, "ci", "host03")  # ci is shut off on host09
    chat.send("evacuate host09", confirm=False)
    assert "stays ci: also defined (shut off on host03)" in chat.transcript, chat.transcript
    chat.send("check")
    assert "ci is defined on host03, host09: say 'repair ci'" in chat.transcript, chat.transcript
    chat.send("history ci")
    assert "evacuate" not in chat.transcript, chat.transcript  # learning of a copy changes no history
