"""Pinned means pinned: a VM pinned to its host moves only with 'force', and `check` finds one that left."""

from __future__ import annotations

import pytest

from bot.results import Outcome
from tests.farm_ops.helpers import live_vms


@pytest.mark.parametrize("text", ["migrate backup", "migrate backup to {other}"])
def test_a_pinned_vm_is_not_migrated_without_force(chat, pinned_host, text):
    other = next(h for h in chat.engine.farm.host_names if h != pinned_host)
    reply = chat.send(text.format(other=other))
    assert reply.outcome is Outcome.REFUSED, chat.transcript
    target = other if "to" in text else ""
    forced = f"migrate backup to {target} force" if target else "migrate backup force"
    assert chat.transcript.startswith(
        f"Not moving backup: it is pinned to {pinned_host} in the fleet config. To move it anyway, say "
        f"'{forced}'.")
    assert live_vms(chat.engine)["backup"].host == pinned_host
    assert chat.engine.inventory.audit(limit=1)[0].outcome == "refused"


@pytest.mark.parametrize("text", ["migrate backup force", "migrate backup to {other} force"])
def test_force_moves_a_pinned_vm_and_says_so(chat, pinned_host, text):
    other = next(h for h in chat.engine.farm.host_names if h not in (pinned_host, "host09"))
    reply = chat.send(text.format(other=other))
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"FORCED although backup is pinned to {pinned_host}" in chat.transcript
    assert live_vms(chat.engine)["backup"].host != pinned_host


def test_evacuate_leaves_a_pinned_vm_unless_forced(chat, pinned_host):
    reply = chat.send(f"evacuate {pinned_host}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"  stays backup: pinned to {pinned_host} in the fleet config; " \
           f"'evacuate {pinned_host} force' moves it too" in chat.transcript
    assert live_vms(chat.engine)["backup"].host == pinned_host
    reply = chat.send(f"evacuate {pinned_host} force")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "move backup (running, 4 GiB) → " in chat.transcript
    assert f"FORCED although pinned to {pinned_host}" in chat.transcript
    assert live_vms(chat.engine)["backup"].host != pinned_host


def test_check_lists_a_pinned_vm_that_is_not_on_its_host(chat, pinned_host):
    assert chat.send("migrate backup force").outcome is Outcome.OK, chat.transcript
    now = live_vms(chat.engine)["backup"].host
    reply = chat.send("check")
    found = {(f.kind, f.subject): f.message for f in reply.body.findings}
    assert found[("pinned", "backup")] == (
        f"backup is pinned to {pinned_host} in the fleet config but is on {now}: "
        f"'migrate backup to {pinned_host}' puts it back")
    assert chat.send(f"migrate backup to {pinned_host}").outcome is Outcome.OK, chat.transcript
    reply = chat.send("check")
    assert ("pinned", "backup") not in {(f.kind, f.subject) for f in reply.body.findings}
