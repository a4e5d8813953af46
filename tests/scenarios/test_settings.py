"""Autostart and power-off/crash policies on the demo farm: readable in `show`, settable from chat."""

from __future__ import annotations

from bot.results import Outcome


def running_vm(chat, autostart: bool) -> str:
    return next(r.vm.name for r in chat.engine.inventory.vms_on("host03")
                if r.vm.state.value == "running" and r.vm.autostart == autostart)


def test_autostart_off_and_on_again_shows_in_show_and_on_the_host(chat):
    vm = running_vm(chat, autostart=True)
    host = chat.engine.inventory.vm(vm).vm.host
    reply = chat.send(f"autostart {vm} off")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"About to: turn autostart off for {vm} on {host}" in chat.transcript
    assert f"{vm} will no longer start when {host} boots (autostart off)." in chat.transcript
    assert chat.engine.farm.driver(host).find_vm(vm).autostart is False
    chat.send(f"show {vm}")
    assert "autostart  off" in chat.transcript
    chat.send(f"autostart {vm} on")
    assert chat.engine.inventory.vm(vm).vm.autostart is True


def test_autostart_already_set_is_refused(chat):
    vm = running_vm(chat, autostart=True)
    reply = chat.send(f"autostart {vm} on")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript == f"Autostart of {vm} is already on; nothing to change."
    assert chat.send(f"autostart {vm} maybe").outcome is Outcome.USAGE
    assert "Usage: autostart VM on|off" in chat.transcript


def test_crash_policy_is_set_and_a_wrong_action_is_explained(chat):
    vm = running_vm(chat, autostart=True)
    before = chat.engine.inventory.vm(vm).vm.on_crash
    target = "preserve" if before != "preserve" else "destroy"
    reply = chat.send(f"policy {vm} on_crash {target}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"{vm}: on_crash is now {target} (from its next start), was {before}." in chat.transcript
    xml = chat.engine.farm.driver(chat.engine.inventory.vm(vm).vm.host).domain_xml(vm)
    assert f"<on_crash>{target}</on_crash>" in xml
    reply = chat.send(f"policy {vm} on_poweroff coredump-restart")
    assert reply.outcome is Outcome.REFUSED
    assert "on_poweroff cannot be 'coredump-restart'; use one of destroy, restart" in chat.transcript
