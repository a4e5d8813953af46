"""A rolling run and the host failure figure from Slack: preview with buttons, progress in the thread,
the summary; `resilience` and `check` answered in the channel."""

from __future__ import annotations

import threading

from bot.slack.messages import CANCEL, CONFIRM
from tests.slack.driver import GENERAL, SlackBot


class Turnstile:
    """A gate for held shutdowns that lets one through per `release()`."""

    def __init__(self) -> None:
        self._permits = threading.Semaphore(0)

    def wait(self, timeout: float) -> bool:
        return self._permits.acquire(timeout=timeout)

    def release(self) -> None:
        self._permits.release()


def members_in_order(bot: SlackBot, cluster: str) -> list[tuple[str, str]]:
    records = sorted(bot.engine.inventory.vms_in(cluster), key=lambda r: r.name)
    return [(r.name, r.vm.host) for r in records]


def test_a_rolling_restart_from_slack_shows_its_plan_its_progress_and_its_summary(bot):
    order = members_in_order(bot, "ldap")
    assert len(order) == 5
    bot.engine.farm.timeout = 90.0  # a held shutdown is not a silent host
    turnstile = Turnstile()
    for host in bot.hosts.values():
        host.gate = turnstile
    bot.mention("UOPER", "rolling restart ldap")
    preview = bot.reply(lambda c: "asked to rolling restart ldap" in c.text and c.body.get("blocks"))
    for n, (vm, host) in enumerate(order, 1):
        assert f"{n}. {vm} on {host}" in preview.text
    assert "at least 4 members must be running" in preview.text
    buttons = {e["action_id"] for b in preview.body["blocks"] if b["type"] == "actions"
               for e in b["elements"]}
    assert buttons == {CONFIRM, CANCEL}
    bot.settled()
    assert not [c for c in bot.slack.calls if c.method == "chat.update"]  # nothing runs before the click

    bot.click("UOPER", preview, CONFIRM)
    status = bot.reply(lambda c: c.text.startswith(":hourglass_flowing_sand:"))
    assert status.body["thread_ts"] == preview.body["thread_ts"]  # progress in the preview's thread
    for n, (vm, _host) in enumerate(order, 1):
        # Each member's turn is shown while its shutdown is held, before the next one's begins.
        bot.slack.wait_for("chat.update", lambda c, n=n, vm=vm: c.body.get("ts") == status.answer["ts"]
                           and f"{n}/5: restart {vm}…" in c.text)
        turnstile.release()
    done = bot.reply(lambda c: c.text.startswith("OK: <@UOPER> asked for `rolling restart ldap`"))
    assert done.body["thread_ts"] == preview.body["thread_ts"]
    assert "Rolling restart of ldap done: 5 done." in done.text
    for vm, host in order:
        assert f"`{vm}`: shut down and started on {host}" in done.blocks_text
    # The status message ends saying how the run ended.
    bot.slack.wait_for("chat.update", lambda c: c.body.get("ts") == status.answer["ts"]
                       and c.text.startswith("ok: Rolling restart of ldap done"))
    entries = bot.engine.inventory.audit(limit=20)
    ours = [e.command for e in entries if e.user == "UOPER" and e.outcome == "ok"]
    assert ours[0] == "rolling restart ldap"


def test_resilience_is_answered_in_the_channel(bot):
    bot.mention("UVIEWER", "resilience", channel=GENERAL)
    figure = bot.reply(lambda c: c.body.get("channel") == GENERAL and "host failures" in c.text)
    assert "The farm survives any 2 host failures: all 105 pairs of hosts were tried." in figure.text
    host = bot.engine.inventory.vm("backup").vm.host  # pinned there by the demo's config
    bot.mention("UVIEWER", f"resilience {host}", channel=GENERAL)
    plan = bot.reply(lambda c: c.body.get("channel") == GENERAL and f"If {host} failed now" in c.text)
    assert f"backup stays down: pinned to {host} in the fleet config" in plan.blocks_text


def test_check_in_slack_lists_the_worst_first(bot):
    bot.mention("UVIEWER", "check", channel=GENERAL)
    said = bot.reply(lambda c: c.body.get("channel") == GENERAL and "attention" in c.text)
    rows = [line for line in said.blocks_text.splitlines() if line.startswith("• ")]
    severities = [row.split()[1] for row in rows]
    assert set(severities) == {"critical", "warning", "info"}, said.blocks_text
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)
