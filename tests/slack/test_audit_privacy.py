"""What `audit` shows in Slack: secrets masked; direct-message and private-channel entries only to admins
or in that same place."""

from __future__ import annotations

from bot.slack.adapter import event_from_command, event_from_message
from tests.slack.driver import GENERAL, OPS


def audit_reply(bot, user: str, channel: str, *, count: int):
    if channel.startswith("D"):
        bot.direct(user, "audit", channel=channel)
    else:
        bot.mention(user, "audit", channel=channel)
    return bot.reply(lambda c: "Recent commands" in c.blocks_text, count=count)


def test_private_entries_are_shown_only_to_admins_or_where_they_were_written(bot):
    bot.direct("UOPER", "where is ldap3 password=hunter2 xoxb-998877-secret", channel="DOPER")
    bot.reply(lambda c: c.text.startswith("I don't know") or "ldap3" in c.text)
    bot.command("UOPER", "where is imap2")  # in the ops channel: public
    bot.slack.wait_for("chat.postMessage", count=2)
    assert bot.engine.inventory.audit(limit=2)[1].extra["channel_type"] == "im"

    viewer = audit_reply(bot, "UVIEWER", GENERAL, count=1).blocks_text
    assert "where is imap2" in viewer
    assert "password" not in viewer  # written in UOPER's direct messages
    admin = audit_reply(bot, "UADMIN", OPS, count=2).blocks_text
    same_place = audit_reply(bot, "UOPER", "DOPER", count=3).blocks_text
    for shown in (admin, same_place):
        assert "where is ldap3 password=REDACTED REDACTED" in shown
    everything = "\n".join(c.text + c.blocks_text for c in bot.slack.calls)
    assert "hunter2" not in everything
    assert "998877" not in everything
    stored = "\n".join(p.read_text() for p in (bot.engine.inventory.directory / "audit").glob("*.json"))
    assert "hunter2" not in stored
    assert "998877" not in stored


def test_private_channels_are_recorded_as_private():
    private = {"user_id": "UOPER", "channel_id": "C9", "text": "audit", "channel_name": "privategroup"}
    assert event_from_command(private)[0].extra["channel_type"] == "private"
    message = {"type": "message", "channel_type": "group", "user": "UOPER", "channel": "C8", "text": "x"}
    assert event_from_message(message, team="T1", bot_user="UGRANJA", via="mention")[0].extra[
        "channel_type"] == "private"
    public = {**private, "channel_name": "ops"}
    assert "channel_type" not in event_from_command(public)[0].extra
