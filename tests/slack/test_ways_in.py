"""Mentions, direct messages and the slash command reach the same engine; replies go to the thread."""

from __future__ import annotations

import time

from tests.slack.driver import GENERAL


def host_of(bot, vm: str) -> str:
    return bot.engine.inventory.vm(vm).vm.host


def test_a_mention_is_answered_in_its_thread(bot):
    response = bot.mention("UVIEWER", "where is ldap3")
    assert response.status == 200
    reply = bot.reply()
    assert reply.text == f"ldap3 is on {host_of(bot, 'ldap3')} (running)."
    assert reply.body["channel"] == "COPS"
    assert reply.body["thread_ts"].startswith("1700000100.")


def test_a_direct_message_is_answered(bot):
    assert bot.direct("UOPER", "where is imap2").status == 200
    reply = bot.reply()
    assert reply.text == f"imap2 is on {host_of(bot, 'imap2')} (running)."
    assert reply.body["channel"] == "DUSER"


def test_the_slash_command_is_answered_in_the_channel(bot):
    assert bot.command("UVIEWER", "where is ldap3").status == 200
    reply = bot.reply()
    assert reply.text == f"ldap3 is on {host_of(bot, 'ldap3')} (running)."
    assert reply.body["channel"] == "COPS"
    assert not reply.body.get("thread_ts")


def test_slack_link_markup_and_smart_typography_are_undone_before_parsing(bot):
    bot.mention("UVIEWER", "\u201cwhere is <http://ldap3.example.org|ldap3>\u201d")
    assert bot.reply().text == f"ldap3 is on {host_of(bot, 'ldap3')} (running)."
    bot.mention("UVIEWER", "show <mailto:imap2@example.org|imap2>")
    assert "imap2" in bot.reply(lambda c: "imap2" in c.blocks_text and "Memory" in c.blocks_text).text


def test_a_show_reply_is_a_card_with_a_text_fallback(bot):
    bot.mention("UVIEWER", "show imap2")
    reply = bot.reply()
    kinds = [b["type"] for b in reply.body["blocks"]]
    assert kinds[:2] == ["header", "section"]
    assert reply.body["blocks"][0]["text"]["text"] == "imap2"
    fields = "\n".join(f["text"] for f in reply.body["blocks"][1]["fields"])
    assert f"*Host*\n{host_of(bot, 'imap2')}" in fields
    assert "*Memory*\n8 GiB" in fields
    assert reply.text.startswith("imap2  (running on")  # the console's text as the fallback


def test_a_long_list_is_split_at_line_ends_within_slack_limits(bot):
    bot.mention("UVIEWER", "list")
    reply = bot.reply()
    sections = [b["text"]["text"] for b in reply.body["blocks"] if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert len(reply.body["blocks"]) <= 50
    names = sorted(r.vm.name for r in bot.engine.inventory.vms())
    shown = "\n".join(text.strip("`") for text in sections)
    for name in names:  # every VM on a whole line of its own: nothing cut mid-line
        assert any(line.split()[0] == name for line in shown.splitlines() if line.strip()), name


def test_help_shows_each_user_only_what_they_may_run(bot):
    bot.mention("UVIEWER", "help")
    viewer = bot.reply().text
    assert "where is VM" in viewer
    assert "migrate" not in viewer
    assert "destroy" not in viewer
    bot.mention("UOPER", "help")
    operator = bot.reply(lambda c: "migrate" in c.text).text
    assert "destroy" not in operator
    bot.mention("UADMIN", "help")
    assert "destroy VM" in bot.reply(lambda c: "destroy" in c.text).text


def test_a_viewer_cannot_migrate_and_is_told_which_role_is_needed(bot):
    before = host_of(bot, "imap2")
    bot.mention("UVIEWER", "migrate imap2 to host07")
    reply = bot.reply()
    assert reply.text == "'migrate' needs the operator role; your role is viewer. Ask an admin."
    assert reply.blocks_text.startswith(":no_entry: 'migrate' needs the operator role")
    assert not any(b["type"] == "actions" for b in reply.body["blocks"])
    assert bot.engine.farm.driver(before).find_vm("imap2") is not None
    assert bot.engine.inventory.audit(limit=1)[0].outcome == "refused"


def test_unknown_users_and_unlisted_channels_are_denied(bot):
    bot.mention("USTRANGER", "where is ldap3")
    refusal = ":no_entry: Not allowed here: USTRANGER has no role in this farm."
    told = bot.slack.wait_for("chat.postEphemeral")[0]
    assert (told.text, told.body["user"]) == (refusal, "USTRANGER")
    bot.mention("UADMIN", "where is ldap3", channel="CRANDOM")
    told = bot.slack.wait_for("chat.postEphemeral", lambda c: c.body["channel"] == "CRANDOM")[0]
    assert "granja is not enabled in channel CRANDOM" in told.text
    assert not bot.slack.of("chat.postMessage")


def test_a_read_only_channel_caps_the_role(bot):
    bot.mention("UADMIN", "shutdown web2", channel=GENERAL)
    text = bot.reply().text
    assert "'shutdown' needs the operator role" in text
    assert "your role is admin, but this channel allows at most viewer" in text


def test_a_user_group_gives_its_role(bot):
    bot.slack.usergroups = [{"id": "SOPS", "handle": "ops", "users": ["UNEWOPS"]}]
    bot.mention("UNEWOPS", "shutdown web2")
    assert bot.preview("web2").body["blocks"][-1]["type"] == "actions"
    assert bot.slack.of("usergroups.list")


def test_an_unexpected_error_is_one_sentence_with_an_id_that_is_in_the_log(bot, caplog):
    def broken(event):
        raise RuntimeError("boom: a secret stack detail")

    bot.engine.prepare = broken
    bot.mention("UOPER", "where is ldap3")
    reply = bot.reply()
    assert reply.text.startswith(":warning: Something went wrong inside granja (error ")
    assert "boom" not in reply.text
    assert "Traceback" not in reply.text
    error_id = reply.text.split("(error ")[1].split(")")[0]
    deadline = time.monotonic() + 5
    while error_id not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert error_id in caplog.text
    assert "boom" in caplog.text


def test_a_slash_command_where_the_bot_is_not_invited_is_answered_privately(bot):
    bot.command("UVIEWER", "where is ldap3", channel="CNOTIN")  # allowed, but the bot was never invited
    note = bot.slack.wait_for("respond")[0]
    assert note.body["response_type"] == "ephemeral"
    assert note.text.startswith("I cannot post in this channel: invite me with `/invite @granja`")
