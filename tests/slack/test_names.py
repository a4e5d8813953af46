"""People in Slack replies: named by their display name (users.info, cached) without a ping, except the
requester and the confirmer in the replies to their own request, who are mentioned live."""

from __future__ import annotations

import json

from bot.slack.messages import CONFIRM
from tests.slack.driver import GENERAL, OPS
from tests.slack.test_hostile import assert_inert


def said(call) -> str:
    """Everything a message carries that Slack could turn into a ping: its text and its blocks."""
    return call.text + "\n" + json.dumps(call.body.get("blocks") or [])


def audit(bot, user: str, *, count: int, channel: str = OPS):
    bot.mention(user, "audit all", channel=channel)
    return bot.reply(lambda c: "Commands" in c.blocks_text, count=count)


def test_audit_in_a_channel_names_people_without_pinging_them(bot):
    bot.mention("UOPER", "where is ldap3")
    bot.command("UVIEWER", "where is imap2", channel=GENERAL)
    bot.slack.wait_for("chat.postMessage", count=2)
    shown = audit(bot, "UADMIN", count=1)
    assert "@otto" in shown.blocks_text
    assert "@vera" in shown.blocks_text
    assert "<@U" not in said(shown)
    assert "&lt;@U" not in said(shown)
    again = audit(bot, "UADMIN", count=2)
    assert "UTC @ada `audit all`" in again.blocks_text  # their own row too: a table pings nobody
    assert "<@U" not in said(again)
    bot.mention("UADMIN", "audit by UOPER")
    theirs = bot.reply(lambda c: "by @otto" in c.blocks_text)
    assert "<@U" not in said(theirs)
    bot.settled()
    asked = [c.body["user"] for c in bot.slack.of("users.info")]
    assert sorted(asked) == sorted(set(asked))  # each person asked of Slack once, then remembered


def test_a_person_slack_cannot_name_is_shown_by_the_raw_id_inert(bot):
    del bot.slack.users["UOPER"]  # users.info: user_not_found
    bot.slack.fail_once("users.info", 500, {})  # and the first lookup (whoever's) fails outright
    bot.mention("UOPER", "where is ldap3")
    bot.command("UVIEWER", "where is imap2", channel=GENERAL)
    bot.slack.wait_for("chat.postMessage", count=2)
    shown = audit(bot, "UADMIN", count=1)
    assert "@UOPER" in shown.blocks_text
    assert "<@U" not in said(shown)
    assert "&lt;@U" not in said(shown)
    assert "error" not in shown.blocks_text.lower()


def test_the_requester_is_mentioned_live_in_the_replies_to_their_own_request(bot):
    bot.mention("UOPER", "shutdown web2")
    preview = bot.preview("web2")
    assert preview.text.startswith("<@UOPER> asked to")
    bot.click("UOPER", preview, CONFIRM)
    done = bot.reply(lambda c: c.text.startswith("OK:") and "web2" in c.text)
    assert done.text.startswith("OK: <@UOPER> asked for `shutdown web2`")
    bot.mention("UOPER", "where is nosuchvm")
    unknown = bot.reply(lambda c: "nosuchvm" in c.text)
    assert "<@" not in said(unknown)  # an answer names nobody


def test_a_refused_bystander_is_told_the_requester_by_name(bot):
    bot.mention("UOPER", "shutdown web2")
    preview = bot.preview("web2")
    bot.click("UOPER2", preview, CONFIRM)  # not theirs to decide
    refusal = bot.slack.wait_for("chat.postEphemeral")[0]
    assert refusal.text.startswith("Only @otto (who asked) or an admin can confirm 'shutdown web2'")
    assert "<@" not in refusal.text
    assert "&lt;@" not in refusal.text



def test_a_hostile_display_name_is_shown_inert(bot):
    bot.slack.users["UOPER"] = "<!channel> www.evil.example <@UADMIN>"  # people choose their own names
    bot.mention("UOPER", "where is ldap3")
    bot.slack.wait_for("chat.postMessage")
    shown = audit(bot, "UADMIN", count=1)
    assert_inert(shown.text)
    assert_inert(shown.blocks_text)
    assert "@&lt;!channel&gt; www\u2060.evil.example &lt;@UADMIN&gt;" in shown.blocks_text
