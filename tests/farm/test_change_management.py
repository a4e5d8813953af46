"""diff, history and baseline: what changed since the baseline, who changed it, and accepting it."""

from __future__ import annotations

from bot.results import Outcome


def test_changes_appear_in_diff_and_history_with_who_and_which_command(chat):
    chat.send("diff web2")
    assert chat.transcript.startswith("web2 against its baseline of ")
    assert chat.transcript.endswith(": no differences.")
    chat.send("set web2 memory 3G", user="bob")
    chat.send("attach nic web2 vlan 120")
    mac = chat.engine.inventory.vm("web2").vm.nics[-1].mac
    reply = chat.send("diff web2")
    assert reply.outcome is Outcome.OK
    assert ", 2 differences:" in chat.transcript
    assert "  memory: 4 GiB → 3 GiB" in chat.transcript
    assert f"  added NIC {mac} on br120" in chat.transcript
    assert "memory_mib" not in chat.transcript
    assert "nics[" not in chat.transcript

    chat.send("history web2")
    lines = chat.transcript.splitlines()
    assert lines[0] == "Changes of web2, newest first:"
    assert "attach nic web2 vlan 120" in lines[2]
    assert chat.user in lines[2]
    assert "bob" in lines[3]
    assert "set web2 memory 3G" in lines[3]
    assert "memory: 4 GiB → 3 GiB" in lines[3]
    assert "created: - → " + chat.engine.inventory.vm("web2").vm.host in lines[-1]


def test_baseline_accepts_the_current_configuration(chat):
    chat.send("set web2 vcpus 1")
    reply = chat.send("baseline web2", user="bob")
    assert reply.outcome is Outcome.REFUSED
    assert "'baseline' needs the admin role" in chat.transcript
    reply = chat.send("baseline web2")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "About to: accept web2's current configuration as its baseline" in chat.transcript
    assert "(1 difference: vCPUs)" in chat.transcript
    chat.send("diff web2")
    assert chat.transcript.endswith(": no differences.")
    assert f"by {chat.user}" in chat.transcript
    reply = chat.send("baseline web2")
    assert reply.outcome is Outcome.REFUSED
    assert "web2 already matches its baseline of " in chat.transcript
    chat.send("history web2")
    accepted = chat.transcript.splitlines()[2]
    assert chat.user in accepted
    assert "baseline web2" in accepted
    assert f"→ {chat.engine.inventory.baseline('web2').id}" in accepted


def test_history_of_an_unknown_vm_suggests_a_name(chat):
    reply = chat.send("history webb2")
    assert reply.outcome is Outcome.FAILED
    assert chat.transcript.startswith("No VM named 'webb2'. Did you mean web2")


def test_templates_lists_each_with_its_clusters(chat):
    chat.send("templates")
    lines = chat.transcript.splitlines()
    assert lines[0] == f"Templates ({len(chat.engine.config.templates)}):"
    imap = next(line for line in lines if line.startswith("imap "))
    for word in ("4 (≤8)", "8 GiB (≤16 GiB)", "20G+200G local", "debian-12-xen.img",
                 "mail/120 mgmt/10 backup/160", "pygrub", "restart"):
        assert word in imap
    assert imap.rstrip().endswith("imap")
