"""`audit` after a scripted day of changes on the demo farm: changes by default, filters that combine."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from bot.results import Outcome

TODAY = datetime.combine(datetime.now().astimezone().date(), time(9, 0)).astimezone()
YESTERDAY = TODAY - timedelta(days=1) + timedelta(hours=6)  # 15:00 yesterday
LAST_WEEK = TODAY - timedelta(days=3)


def _at(chat, when: datetime) -> None:
    chat.engine.clock = lambda: when


def _shown(chat, text: str) -> list[str]:
    """The commands an audit reply lists, newest first."""
    reply = chat.send(text)
    assert reply.outcome is Outcome.OK, chat.transcript
    return [row.text for row in reply.body.rows]


@pytest.fixture
def day(chat):
    """Three days of commands by root, bob (operator), alice (viewer) and carol (admin)."""
    engine = chat.engine
    host = max((r.vm.host for r in engine.inventory.vms_in("ldap")),
               key=lambda h: len(engine.inventory.vms_on(h)))
    here = sorted(r.vm.name for r in engine.inventory.vms_on(host) if r.vm.state.value == "running")
    elsewhere = sorted(r.vm.name for r in engine.inventory.vms() if r.vm.host != host
                       and r.vm.state.value == "running" and not r.vm.name.startswith("ldap"))
    rebooted, paused = here[0], elsewhere[0]
    _at(chat, LAST_WEEK)
    chat.send(f"suspend {paused}", user="carol")
    chat.send(f"resume {paused}", user="carol")
    _at(chat, YESTERDAY)
    chat.send(f"reboot {rebooted}", user="bob")
    chat.send("shutdown ldap1", user="alice")  # a viewer: refused
    for text in ("where is ldap3", "list", "help", "strat web2"):
        chat.send(text)
    _at(chat, TODAY)
    assert chat.send(f"evacuate {host}").outcome is Outcome.OK, chat.transcript
    chat.send("migrate ldap1 to host99", user="bob")  # no such host: failed
    _at(chat, TODAY + timedelta(minutes=30))
    chat.send("where is ldap3")
    return {"host": host, "rebooted": rebooted, "paused": paused}


def test_audit_shows_changes_newest_first_and_all_shows_everything(chat, day):
    changes = ["migrate ldap1 to host99", f"evacuate {day['host']}", "shutdown ldap1",
               f"reboot {day['rebooted']}", f"resume {day['paused']}", f"suspend {day['paused']}"]
    assert _shown(chat, "audit") == changes
    assert chat.transcript.startswith("Changes:")
    everything = _shown(chat, "audit all")
    assert everything[:3] == ["audit", "where is ldap3", "migrate ldap1 to host99"]
    assert {"strat web2", "help", "list"} <= set(everything)


def test_a_hosts_audit_has_its_evacuation_and_the_operations_on_its_vms(chat, day):
    host = day["host"]
    assert _shown(chat, f"audit {host}") == [f"evacuate {host}", f"reboot {day['rebooted']}"]
    assert chat.transcript.startswith(f"Changes on {host} and its VMs:")


def test_a_users_audit_by_name_or_with_by(chat, day):
    bobs = ["migrate ldap1 to host99", f"reboot {day['rebooted']}"]
    assert _shown(chat, "audit bob") == bobs
    assert _shown(chat, "audit by bob") == bobs
    assert chat.transcript.startswith("Changes by bob:")


def test_filters_combine(chat, day):
    assert _shown(chat, "audit since yesterday") == [
        "migrate ldap1 to host99", f"evacuate {day['host']}", "shutdown ldap1", f"reboot {day['rebooted']}"]
    assert _shown(chat, "audit since 2h") == ["migrate ldap1 to host99", f"evacuate {day['host']}"]
    assert _shown(chat, f"audit since {LAST_WEEK:%Y-%m-%d} by carol") == [
        f"resume {day['paused']}", f"suspend {day['paused']}"]
    assert _shown(chat, "audit failed") == ["migrate ldap1 to host99"]
    assert _shown(chat, "audit ldap by alice") == ["shutdown ldap1"]
    assert _shown(chat, "audit ldap1 failed by bob since today") == ["migrate ldap1 to host99"]
    assert _shown(chat, "audit ldap3 all") == ["where is ldap3", "where is ldap3"]
    assert _shown(chat, "audit by nobody") == []
    assert chat.transcript == "Changes by nobody: none yet."


@pytest.mark.parametrize(
    ("text", "outcome", "message"),
    [
        ("audit since someday", Outcome.USAGE, "I can't read 'someday' as a time: 'since' takes 2h, 30m"),
        ("audit by", Outcome.USAGE, "'by' needs a user after it: audit by bob."),
        ("audit ldap1 ldap2", Outcome.USAGE, "'audit' takes one VM, host, cluster or user name"),
        ("audit ldapp3", Outcome.FAILED, "Did you mean"),
    ],
)
def test_bad_filters_say_what_to_type(chat, day, text, outcome, message):
    reply = chat.send(text)
    assert reply.outcome is outcome
    assert message in chat.transcript


def test_interrupted_operations_are_changes_and_failures(chat, day):
    from inventory import AuditEntry

    chat.engine.inventory.record_audit(AuditEntry(
        at=TODAY + timedelta(minutes=40), user="granja", text="evacuate host03", outcome="interrupted",
        command="", hosts=("host03",), detail="An interrupted `evacuate host03` by root was found"))
    assert _shown(chat, "audit")[0] == "evacuate host03"
    assert _shown(chat, "audit failed") == ["evacuate host03", "migrate ldap1 to host99"]
    assert _shown(chat, "audit host03 since 1h")[0] == "evacuate host03"
