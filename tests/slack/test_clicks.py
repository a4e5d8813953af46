"""Clicks and bots: simultaneous Confirms run once and say what happened; a refused click leaves expiry
alone; messages from bots (granja itself or others) are never commands."""

from __future__ import annotations

import threading

import pytest

from bot.engine import ChatEvent, ClaimRefused
from bot.slack.messages import CONFIRM
from tests.slack.driver import OPS, SlackBot
from tests.slack.standin import BOT_USER


def test_a_second_claim_while_the_first_runs_is_told_the_truth(bot):
    prepared = bot.engine.prepare(ChatEvent(user="UOPER", text="shutdown web2", channel=OPS,
                                            extra={"who": "<@UOPER>"}))
    clicker = ChatEvent(user="UOPER", text="[granja_confirm]", channel=OPS, extra={"who": "<@UOPER>"})
    assert bot.engine.claim(prepared.id, by=clicker, confirming=True) is prepared
    with pytest.raises(ClaimRefused) as second:  # before the first has even started running
        bot.engine.claim(prepared.id, by=clicker, confirming=True)
    assert str(second.value) == "That request was already confirmed by <@UOPER>; nothing more was done."


def test_two_simultaneous_confirm_clicks_run_once_and_report_the_truth(bot):
    gate = bot.hold_shutdowns()
    bot.mention("UOPER", "shutdown web2")
    preview = bot.preview("web2")
    start = threading.Barrier(2)

    def click() -> None:
        start.wait(10)
        bot.click("UOPER", preview, CONFIRM)

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(30)
    note = bot.slack.wait_for("chat.postEphemeral")[0]
    assert note.text == "That request was already confirmed by @otto; nothing more was done."
    gate.set()
    done = bot.reply(lambda c: c.text.startswith("OK:") and "web2" in c.text)
    assert "asked for `shutdown web2`" in done.text
    said = [c.text + c.blocks_text for c in bot.slack.calls]
    assert not [s for s in said if "no longer waiting" in s]
    assert len([e for e in bot.engine.inventory.audit(vm="web2", limit=10) if e.outcome == "ok"]) == 1


def test_a_refused_bystander_click_does_not_keep_the_buttons_past_expiry(state):
    bot = SlackBot(state, confirm_timeout=2)
    try:
        bot.mention("UOPER", "shutdown web2")
        preview = bot.preview("web2")
        bot.click("UOPER2", preview, CONFIRM)  # not theirs to decide
        assert bot.slack.wait_for("chat.postEphemeral")[0].text.startswith("Only @otto (who asked)")
        gone = bot.slack.wait_for("chat.update", lambda c: "Expired" in c.text, timeout=20)[0]
        assert gone.body["ts"] == preview.answer["ts"]
        assert not any(b["type"] == "actions" for b in gone.body["blocks"])
    finally:
        bot.close()


def _message(user: str, text: str, channel: str, **fields) -> dict:
    return {"type": "message", "channel_type": "im" if channel.startswith("D") else "channel", "user": user,
            "text": text, "channel": channel, "ts": "1700000500.000001", **fields}


@pytest.mark.parametrize("event", [
    _message(BOT_USER, "where is ldap3", "DOPER", bot_id="BGRANJA"),  # granja's own reply in a DM
    _message("UOPER", "where is ldap3", "DOPER", bot_id="BOTHER"),  # another bot posting in a DM
    {**_message("UOPER", f"<@{BOT_USER}> where is ldap3", OPS, bot_id="BOTHER"), "type": "app_mention"},
    {**_message("UOPER", f"<@{BOT_USER}> where is ldap3", OPS, bot_profile={"id": "BOTHER"}),
     "type": "app_mention"},
])
def test_messages_from_bots_are_never_commands(bot, event):
    assert bot.post(bot.event_body(event), "application/json").status == 200
    bot.mention("UVIEWER", "where is imap2")  # answered after the bot's message was handled
    bot.reply(lambda c: c.text.startswith("imap2 is on"))
    answers = [c for c in bot.slack.calls if c.method in ("chat.postMessage", "chat.postEphemeral")]
    assert [c.text.split(" is on")[0] for c in answers] == ["imap2"]
