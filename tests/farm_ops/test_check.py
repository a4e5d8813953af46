"""`check` finds a planted problem of each kind, and the health findings keep their shape."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields, replace
from datetime import timedelta

import pytest

from bot.engine import Engine
from bot.results import Outcome
from granja.app import open_engine
from hypervisor.domain_build import build_domain
from inventory.finding import Finding
from inventory.health import findings
from tests.conftest import Chat
from tests.farm_ops.helpers import host_with_cluster_member
from tests.inventory.builders import make_vm
from tests.scenarios.test_unreachable import break_hosts


def plant_vm(engine: Engine, host: str, name: str, *, memory_mib: int = 1024, vcpus: int = 1) -> None:
    driver = engine.farm.driver(host)
    driver.define(build_domain(make_vm(name, host, memory_mib=memory_mib, vcpus=vcpus), domain_type="test"))
    driver.lifecycle(name, "start")


def test_check_finds_a_planted_problem_of_each_kind(state):
    chat = Chat(open_engine(config=None, state=str(state)))
    engine = chat.engine
    crowded = host_with_cluster_member(engine, "ldap", besides="ldap1")
    assert chat.send(f"migrate ldap1 to {crowded} force").outcome is Outcome.OK
    host_memory = engine.farm.driver("host02").describe().memory_mib
    plant_vm(engine, "host02", "hog", memory_mib=host_memory)
    plant_vm(engine, "host03", "busy", vcpus=engine.farm.driver("host03").describe().cpus * 4 + 1)
    engine.farm.driver("host04").set_autostart(engine.inventory.vms_on("host04")[0].name, False)
    drifting = engine.inventory.vms_on("host08")[0].vm
    engine.farm.driver("host08").define(build_domain(replace(drifting, vcpus=drifting.vcpus + 1),
                                                     domain_type="test"))
    engine.inventory.set_maintenance("host09", on=True, at=engine.clock(), user="test")
    break_hosts(state, host11="test:///nonexistent/host11.xml")
    chat = Chat(open_engine(config=None, state=str(state)))
    chat.send("refresh")

    reply = chat.send("check")
    assert reply.outcome is Outcome.OK
    found = {(f.kind, f.subject) for f in reply.body.findings}
    autostart_off = engine.inventory.vms_on("host04")[0].name
    assert {("spread", "ldap"), ("memory", "host02"), ("vcpus", "host03"), ("autostart", autostart_off),
            ("drift", drifting.name), ("maintenance", "host09"), ("unreachable", "host11")} <= found
    assert f"of cluster ldap share {crowded}: one host failure stops 2 of them" in chat.transcript
    assert f"{drifting.name} differs from its baseline in 1 field: vCPUs" in chat.transcript
    assert "host11 is not answering since" in chat.transcript
    assert "host09 is in maintenance since " in chat.transcript
    assert "(by test): still holds " in chat.transcript


def test_hosts_not_asked_for_a_day_are_stale(engine):
    later = engine.clock() + timedelta(days=2)
    stale = [f for f in findings(engine.inventory, now=later) if f.kind == "stale"]
    assert {f.subject for f in stale} == set(engine.farm.host_names)
    assert stale[0] == Finding("stale", stale[0].subject,
                               f"{stale[0].subject} was last asked 48 h ago; run 'refresh' for current data")


def test_a_farm_with_nothing_planted_reports_only_what_the_demo_has(chat):
    chat.send("check")
    shared = chat.engine.config.placement.shared_pools  # the demo names its pool "local" shared
    kinds = {f.kind for f in findings(chat.engine.inventory, shared_pools=shared)}
    # On purpose in the demo: ftp1 runs without autostart, host07 has lost a management link.
    assert kinds <= {"autostart", "bond"}
    assert "ftp1 runs without autostart" in chat.transcript


def test_a_finding_is_a_frozen_kind_subject_message_severity():
    # The site's overview shows these: the shape is a contract.
    assert [f.name for f in fields(Finding)] == ["kind", "subject", "message", "severity"]
    finding = Finding("spread", "ldap", "ldap1, ldap2 share host03")
    with pytest.raises(FrozenInstanceError):
        finding.kind = "other"  # type: ignore[misc]


def test_check_warns_of_cluster_members_that_run_from_local_storage_only(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text().replace('shared_pools = ["local"]', "shared_pools = []"))
    chat = Chat(open_engine(config=None, state=str(state)))
    inventory = chat.engine.inventory
    ldap1 = inventory.vm("ldap1").vm
    reply = chat.send("check")
    local = {f.subject: f.message for f in reply.body.findings if f.kind == "local-storage"}
    members = {r.name for r in inventory.vms() if r.vm.meta.cluster and r.vm.state.active}
    assert set(local) == members
    disk = ldap1.disks[0]
    assert local["ldap1"] == (f"ldap1 of cluster ldap runs from storage only {ldap1.host} reaches (disk "
                              f"{disk.target}, {disk.source}, in pool local): if {ldap1.host} fails, "
                              f"'recover {ldap1.host}' cannot start it elsewhere")
    assert f"'recover {ldap1.host}' cannot start it elsewhere" in chat.transcript


def test_check_lists_critical_first_then_warning_then_info_in_chat_and_json(chat):
    import json

    from bot.reply_json import to_json

    chat.engine.inventory.set_maintenance("host03", on=True, at=chat.engine.clock(), user="test")
    reply = chat.send("check")  # the demo farm: a degraded bond, a VM without autostart, ftp degraded
    order = ["critical", "warning", "info"]
    shown = [row.split()[0] for row in chat.transcript.splitlines()[2:]]
    assert set(shown) == set(order), chat.transcript
    assert shown == sorted(shown, key=order.index), chat.transcript
    in_json = [f["severity"] for f in json.loads(to_json(reply))["body"]["findings"]]
    assert in_json == shown
