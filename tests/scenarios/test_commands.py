"""Every chat command on the demo farm, driven through the console front end as a user would."""

from __future__ import annotations

import pytest

from bot.results import Outcome


def test_where_is_answers_with_the_host_checked_live(chat):
    reply = chat.send("where is ldap3")
    assert reply.outcome is Outcome.OK
    host = chat.engine.inventory.vm("ldap3").vm.host
    assert chat.transcript == f"ldap3 is on {host} (running)."


def test_where_is_unknown_vm_suggests_the_nearest_name(chat):
    reply = chat.send("where is imapp2")
    assert reply.outcome is Outcome.FAILED
    assert chat.transcript.startswith("No VM named 'imapp2'. Did you mean imap2")


def test_malformed_command_gets_the_usage_of_the_nearest_command(chat):
    reply = chat.send("migrate imap2 host07")
    assert reply.outcome is Outcome.USAGE
    assert "Usage: migrate VM [to HOST] [force]" in chat.transcript


def test_show_gives_the_whole_configuration(chat):
    chat.send("show imap2")
    text = chat.transcript
    vm = chat.engine.inventory.vm("imap2").vm
    assert text.startswith(f"imap2  (running on {vm.host})")
    assert "cluster    imap" in text
    assert "vCPUs      4" in text
    assert "memory     8 GiB" in text
    assert "PV (xen)" in text
    for nic in vm.nics:
        assert nic.mac in text
    assert "VLAN 120 (mail)  via bond0" in text
    assert "pool local" in text
    assert "200 GiB" in text


def test_list_filters(chat):
    chat.send("list in ldap")
    assert chat.transcript.startswith("VMs in cluster ldap (5):")
    chat.send("list shutoff")
    for name in ("ci", "print", "license", "ftp2"):
        assert f"\n{name} " in chat.transcript
    assert "ldap1" not in chat.transcript
    chat.send("list paused")
    assert "wiki" in chat.transcript
    assert "mirror" in chat.transcript
    host = chat.engine.inventory.vm("ldap1").vm.host
    chat.send(f"list on {host}")
    assert f"VMs on {host}" in chat.transcript
    assert "ldap1" in chat.transcript


def test_list_unknown_host_and_cluster_suggest(chat):
    chat.send("list on host7")
    assert "No host named 'host7'. Did you mean host07" in chat.transcript
    chat.send("list in ldpa")
    assert "No cluster named 'ldpa'. Did you mean ldap" in chat.transcript


def test_hosts_and_host(chat):
    chat.send("hosts")
    lines = chat.transcript.splitlines()
    assert lines[0].split()[:2] == ["HOST", "RUNNING/VMS"]
    assert len(lines) == 1 + 15
    chat.send("host host01")
    text = chat.transcript
    assert "bond bond0 (802.3ad): eth0, eth1" in text
    assert "vlan bond0.120 (VLAN 120, mail, on bond0)" in text  # the network's name, as `show` says it
    assert "pool local (dir, shared: every host reaches it):" in text  # the demo names it shared
    assert "VMs on host01" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start wiki", "Cannot start wiki: it is paused. Use 'resume wiki' to unpause it."),
        ("reboot wiki", "Cannot reboot wiki: it is paused. Resume it first ('resume wiki')."),
    ],
)
def test_wrong_state_is_refused_before_anything_happens(chat, text, message):
    before = chat.engine.inventory.vm(text.split()[1]).vm
    reply = chat.send(text)
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript == message
    assert chat.engine.inventory.vm(before.name).vm.state is before.state


@pytest.mark.parametrize(
    ("vm", "action", "after"),
    [
        ("dns1", "shutdown", "shut off"),
        ("ci", "start", "running"),
        ("wiki", "resume", "running"),
        ("dns2", "suspend", "paused"),
        ("radius", "reboot", "running"),
        ("dhcp", "save", "saved"),
        ("vpn", "destroy", "shut off"),
    ],
)
def test_lifecycle_actions_change_the_vm_and_the_inventory(chat, vm, action, after):
    reply = chat.send(f"{action} {vm}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert chat.transcript.startswith(f"About to: {action} {vm} on ")
    assert chat.transcript.endswith(f"now {after}.")
    assert chat.engine.inventory.vm(vm).vm.state.value == after
    host = chat.engine.inventory.vm(vm).vm.host
    assert chat.engine.farm.driver(host).find_vm(vm).state.value == after


def test_saved_vm_is_restored_by_start(chat):
    chat.send("save dhcp")
    reply = chat.send("start dhcp")
    assert reply.outcome is Outcome.OK
    assert chat.transcript.endswith("now running.")


def test_a_change_without_confirmation_does_nothing(chat):
    reply = chat.send("shutdown dns1", confirm=False)
    assert reply.outcome is Outcome.CANCELLED
    assert chat.transcript.endswith(
        "Nothing was done: 'shutdown dns1' was not confirmed (add --yes to confirm).")
    assert chat.engine.inventory.vm("dns1").vm.state.value == "running"


def test_roles_are_enforced(chat):
    reply = chat.send("shutdown dns1", user="alice")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript == "'shutdown' needs the operator role; your role is viewer. Ask an admin."
    reply = chat.send("destroy dns1", user="bob")
    assert "'destroy' needs the admin role; your role is operator" in chat.transcript
    reply = chat.send("where is dns1", user="mallory")
    assert reply.outcome is Outcome.REFUSED
    assert "mallory has no role in this farm" in chat.transcript


def test_help_shows_only_what_the_user_may_run(chat):
    chat.send("help", user="alice")
    assert "where is VM" in chat.transcript
    assert "migrate" not in chat.transcript
    chat.send("help", user="carol")
    assert "destroy VM" in chat.transcript
    chat.send("help migrate")
    assert chat.transcript.startswith("migrate VM [to HOST] [force]\n")
    assert "Needs the operator role." in chat.transcript


def test_audit_records_allowed_refused_and_failed_commands(chat):
    chat.send("where is ldap3")
    chat.send("shutdown dns1", user="alice")
    chat.send("reboot wiki")
    chat.send("where is nosuchvm")
    chat.send("shutdown dns1")
    entries = chat.engine.inventory.audit(limit=10)
    assert [(e.text, e.outcome) for e in entries[:5]] == [
        ("shutdown dns1", "ok"),
        ("where is nosuchvm", "failed"),
        ("reboot wiki", "refused"),
        ("shutdown dns1", "refused"),
        ("where is ldap3", "ok"),
    ]
    newest = entries[0]
    assert newest.command == "shutdown dns1"
    assert newest.vm == "dns1"
    assert newest.channel == "console"
    assert newest.duration_ms > 0
    assert newest.user == chat.user
    assert newest.role == "admin"
    chat.send("audit dns1")
    assert "shutdown dns1" in chat.transcript
    assert "where is ldap3" not in chat.transcript


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start ldap1", "ldap1 is already running on {host}; nothing was changed."),
        ("resume ldap1", "ldap1 is already running on {host}; nothing was changed."),
        ("shutdown ci", "ci is already shut off on {host}; nothing was changed."),
        ("suspend wiki", "wiki is already paused on {host}; nothing was changed."),
    ],
)
def test_asking_for_the_state_a_vm_is_in_succeeds_and_changes_nothing(chat, text, message):
    name = text.split()[1]
    before = chat.engine.inventory.vm(name).vm
    reply = chat.send(text)
    assert reply.outcome is Outcome.OK
    assert chat.transcript == message.format(host=before.host)  # no preview: nothing to confirm
    assert chat.engine.inventory.vm(name).vm == before
    assert chat.engine.inventory.audit(limit=1)[0].extra["changed"] == "no"
