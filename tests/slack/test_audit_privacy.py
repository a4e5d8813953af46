"""What `audit` shows in Slack: secrets masked; direct-message and private-channel entries only to admins
or in that same place."""

from __future__ import annotations

from bot.slack.adapter import event_from_command, event_from_message
from tests.slack.driver import GENERAL, OPS


def audit_reply(bot, user: str, channel: str, *, count: int):
    if channel.startswith("D"):
        bot.direct(user, "audit all", channel=channel)
    else:
        bot.mention(user, "audit all", channel=channel)
    return bot.reply(lambda c: "Commands" in c.blocks_text, count=count)


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
    stored = "\n".join(p.read_text() for p in (bot.engine.inventory.directory / "audit").glob("*.jsonl"))
    assert "where is ldap3 password=REDACTED" in stored  # the entries are there, masked
    assert "hunter2" not in stored
    assert "998877" not in stored


def test_private_channels_are_recorded_as_private():
    private = {"user_id": "UOPER", "channel_id": "C9", "text": "audit all", "channel_name": "privategroup"}
    assert event_from_command(private)[0].extra["channel_type"] == "private"
    message = {"type": "message", "channel_type": "group", "user": "UOPER", "channel": "C8", "text": "x"}
    assert event_from_message(message, team="T1", bot_user="UGRANJA", via="mention")[0].extra[
        "channel_type"] == "private"
    public = {**private, "channel_name": "ops"}
    assert "channel_type" not in event_from_command(public)[0].extra


def test_a_mention_in_a_private_channel_is_private_though_slack_does_not_say_so(bot):
    # An app_mention carries no channel_type, and private channels' IDs start with C nowadays.
    bot.slack.private_channels.add("CSECRET")
    bot.mention("UOPER", "where is ldap3 in the secret incident room", channel="CSECRET")
    bot.reply(lambda c: c.body.get("channel") == "CSECRET")
    bot.settled()
    entry = bot.engine.inventory.audit(limit=1)[0]
    assert entry.extra.get("channel_type") == "private"
    viewer = audit_reply(bot, "UVIEWER", GENERAL, count=1).blocks_text
    assert "secret incident room" not in viewer
    there = audit_reply(bot, "UOPER", "CSECRET", count=2).blocks_text
    assert "secret incident room" in there


def test_a_channel_slack_cannot_describe_counts_as_private(bot):
    bot.slack.fail_once("conversations.info", 500, {})
    bot.mention("UOPER", "where is ldap3", channel="CSECRET")  # public, but Slack could not say so
    bot.reply(lambda c: c.body.get("channel") == "CSECRET")
    bot.settled()
    assert bot.engine.inventory.audit(limit=1)[0].extra.get("channel_type") == "private"
