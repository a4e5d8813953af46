"""Who decides a change in Slack: only the signed user ID counts, with their role in that channel."""

from __future__ import annotations

from bot.slack.messages import CANCEL, CONFIRM

CAPPED = "COPER"  # a channel capped at operator


def test_an_admin_cannot_confirm_someone_else_s_change_where_the_channel_caps_them(bot):
    bot.mention("UOPER", "shutdown web2", channel=CAPPED)
    preview = bot.preview("web2")
    assert bot.click("UADMIN", preview, CONFIRM, channel=CAPPED).status == 200
    note = bot.slack.wait_for("chat.postEphemeral")[0]
    assert note.body["user"] == "UADMIN"
    assert note.text == ("Only @otto (who asked) or an admin can confirm 'shutdown web2'; "
                         "nothing was done.")
    bot.click("UOPER", preview, CANCEL, channel=CAPPED)  # still the requester's to decide
    assert bot.reply(lambda c: c.text.startswith("CANCELLED")).text
    entries = bot.engine.inventory.audit(limit=5)
    assert [e.user for e in entries if e.outcome == "refused"] == ["UADMIN"]
    assert bot.engine.farm.driver(bot.engine.inventory.vm("web2").vm.host).find_vm("web2").state.value \
        == "running"


def test_the_user_named_in_the_text_does_not_count(bot):
    bot.mention("UVIEWER", "as UADMIN shutdown web2")
    assert not bot.reply().text.startswith("<@UVIEWER> asked to")
    bot.command("UVIEWER", "--as UADMIN shutdown web2")
    bot.slack.wait_for("chat.postMessage", count=2)
    assert not [c for c in bot.slack.of("chat.postMessage") if c.body.get("blocks") and "asked to" in c.text]
