"""Changes wait for a button: only the requester or an admin decides, once, before the request expires."""

from __future__ import annotations

import time

from bot.slack.messages import CANCEL, CONFIRM


def other_host(bot, vm: str, *, besides: str = "") -> str:
    """A host the placement rules let `vm` move to: no member of its cluster there (and not `besides`)."""
    inventory = bot.engine.inventory
    cluster = inventory.vm(vm).vm.meta.cluster
    busy = {r.vm.host for r in inventory.vms_in(cluster)} if cluster else {inventory.vm(vm).vm.host}
    return next(h for h in bot.engine.farm.host_names if h not in busy and h != besides)


def where(bot, vm: str) -> str:
    return next(h for h in bot.engine.farm.host_names if bot.engine.farm.driver(h).find_vm(vm) is not None)


def final(bot, vm: str):
    return bot.reply(lambda c: c.text.split(":")[0] in ("OK", "FAILED", "REFUSED", "CANCELLED", "ERROR")
                     and f"VM {vm}" in c.text)


def test_a_migration_waits_for_the_button_and_then_runs_with_an_audit_trail(bot):
    source, target = where(bot, "imap2"), other_host(bot, "imap2")
    bot.mention("UOPER", f"migrate imap2 to {target}")
    preview = bot.preview("imap2")
    assert preview.text.startswith(f"<@UOPER> asked to migrate imap2 {source} → {target}, offline")
    assert "8 GiB RAM" in preview.text
    confirm = next(e for b in preview.body["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == CONFIRM)
    assert confirm["style"] == "primary"
    bot.settled()  # every request answered so far has finished its work
    assert where(bot, "imap2") == source  # nothing moves before the click

    assert bot.click("UOPER", preview, CONFIRM).status == 200
    done = final(bot, "imap2")
    assert where(bot, "imap2") == target
    assert done.text.startswith(f"OK: <@UOPER> asked for `migrate imap2 to {target}` · VM imap2 · "
                                f"hosts {source} → {target} · <!date^")
    assert f"imap2 moved from {source} to {target} (offline" in done.text
    assert "took " in done.text
    assert done.body["thread_ts"] == preview.body["thread_ts"]
    updated = bot.slack.wait_for("chat.update", lambda c: "Confirmed by <@UOPER>" in c.text)[0]
    assert not any(b["type"] == "actions" for b in updated.body["blocks"])  # the buttons are gone

    entry = bot.engine.inventory.audit(vm="imap2", limit=1)[0]
    assert (entry.user, entry.outcome, entry.command) == ("UOPER", "ok", f"migrate imap2 to {target}")
    assert entry.channel == "COPS"
    assert entry.extra["thread_ts"] == preview.body["thread_ts"]
    assert entry.extra["permalink"].startswith("https://example.slack.com/archives/COPS/p")
    assert entry.extra["slack_user"] == "UOPER"
    assert entry.extra["team"] == "T1"


def test_someone_else_cannot_confirm_but_an_admin_can(bot):
    source, target = where(bot, "web1"), other_host(bot, "web1")
    bot.mention("UOPER", f"migrate web1 to {target}")
    preview = bot.preview("web1")
    bot.click("UOPER2", preview, CONFIRM)
    note = bot.slack.wait_for("chat.postEphemeral")[0]
    assert note.body["user"] == "UOPER2"
    assert note.text == ("Only @otto (who asked) or an admin can confirm "
                         f"'migrate web1 to {target}'; nothing was done.")
    bot.settled()  # every request answered so far has finished its work
    assert where(bot, "web1") == source
    assert bot.engine.inventory.audit(limit=1)[0].user == "UOPER2"

    bot.click("UADMIN", preview, CONFIRM)
    done = final(bot, "web1")
    assert "(confirmed by <@UADMIN>)" in done.text
    assert where(bot, "web1") == target
    entry = bot.engine.inventory.audit(vm="web1", limit=1)[0]
    assert entry.extra["confirmed_by"] == "UADMIN"
    assert entry.user == "UOPER"


def test_a_second_click_does_nothing(bot):
    target = other_host(bot, "smtp1")
    bot.mention("UOPER", f"migrate smtp1 to {target}")
    preview = bot.preview("smtp1")
    bot.click("UOPER", preview, CONFIRM)
    final(bot, "smtp1")
    entries = len(bot.engine.inventory.audit(limit=100))
    bot.click("UOPER", preview, CONFIRM)
    note = bot.slack.wait_for("chat.postEphemeral")[0]
    assert note.text == "That request was already confirmed by @otto; nothing more was done."
    bot.settled()  # every request answered so far has finished its work
    assert len(bot.slack.of("chat.postMessage")) == 3  # preview, status, result: no second run
    assert len(bot.engine.inventory.audit(limit=100)) == entries


def test_cancel_runs_nothing(bot):
    source, target = where(bot, "db1"), other_host(bot, "db1")
    bot.mention("UOPER", f"migrate db1 to {target}")
    preview = bot.preview("db1")
    bot.click("UOPER", preview, CANCEL)
    done = final(bot, "db1")
    assert done.text.startswith(f"CANCELLED: <@UOPER> asked for `migrate db1 to {target}`")
    assert where(bot, "db1") == source
    assert bot.engine.inventory.audit(vm="db1", limit=1)[0].outcome == "cancelled"
    bot.click("UOPER", preview, CONFIRM)
    assert bot.slack.wait_for("chat.postEphemeral")[0].text.startswith("That request was already cancelled")
    bot.settled()  # every request answered so far has finished its work
    assert where(bot, "db1") == source


def test_an_expired_confirmation_runs_nothing(hasty):
    bot = hasty
    source, target = where(bot, "ftp1"), other_host(bot, "ftp1")
    bot.mention("UOPER", f"migrate ftp1 to {target}")
    preview = bot.preview("ftp1")
    assert "Expires <!date^" in preview.blocks_text
    later = time.monotonic() + 0.7
    bot.engine.waiting._clock = lambda: later  # the 0.5 s confirmation time has run out
    bot.click("UOPER", preview, CONFIRM)
    note = bot.slack.wait_for("chat.postEphemeral")[0]
    assert note.text == "That request expired after 0.5 s; nothing was done. Ask again."
    gone = bot.slack.wait_for("chat.update", lambda c: "expired" in c.blocks_text.lower())[0]
    assert not any(b["type"] == "actions" for b in gone.body["blocks"])
    bot.settled()  # every request answered so far has finished its work
    assert where(bot, "ftp1") == source
    entry = bot.engine.inventory.audit(vm="ftp1", limit=1)[0]
    assert entry.outcome == "cancelled"
    assert "not confirmed within" in entry.detail


def test_destroy_asks_with_the_danger_style(bot):
    bot.mention("UADMIN", "destroy web3")
    preview = bot.preview("web3")
    confirm = next(e for b in preview.body["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == CONFIRM)
    assert confirm["style"] == "danger"
    assert confirm["confirm"]["confirm"]["text"] == "Yes, do it"


def test_audit_in_chat_shows_who_did_what_and_how_it_ended(bot):
    target = other_host(bot, "lists1")
    bot.mention("UOPER", f"migrate lists1 to {target}")
    bot.click("UOPER", bot.preview("lists1"), CONFIRM)
    final(bot, "lists1")
    bot.mention("UVIEWER", "audit lists1")
    table = bot.reply(lambda c: c.text.startswith("Changes to lists1"))
    row = next(line for line in table.text.splitlines() if f"migrate lists1 to {target}" in line)
    assert row.split()[2:3] == ["UOPER"]
    assert " ok " in row
    shown = next(line for line in table.blocks_text.splitlines() if f"`migrate lists1 to {target}`" in line)
    assert "@otto `migrate" in shown  # named, not pinged
    assert "*ok*" in shown


def test_an_unclicked_preview_loses_its_buttons_when_it_expires(hasty):
    bot = hasty
    source, target = where(bot, "ftp2"), other_host(bot, "ftp2")
    bot.mention("UOPER", f"migrate ftp2 to {target}")
    preview = bot.preview("ftp2")
    gone = bot.slack.wait_for("chat.update", lambda c: "Expired" in c.text, timeout=5)[0]
    assert gone.body["ts"] == preview.answer["ts"]
    assert gone.body["blocks"][-1]["elements"][0]["text"] == (
        "Expired: not confirmed within 0.5 s; nothing was done.")
    assert not any(b["type"] == "actions" for b in gone.body["blocks"])
    entry = bot.engine.inventory.audit(vm="ftp2", limit=1)[0]
    assert (entry.outcome, entry.extra["cancelled_by"]) == ("cancelled", "granja")
    assert where(bot, "ftp2") == source
