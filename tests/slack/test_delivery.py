"""What delivery throws at the bot: forged or stale requests, retries, 429s, slow work, clicks at once."""

from __future__ import annotations

import threading
import time

from bot.slack.messages import CONFIRM
from tests.slack.test_confirmations import final, other_host, where


def test_a_bad_or_stale_signature_gets_401_and_runs_nothing(bot):
    forged = bot.mention("UADMIN", "where is ldap3", secret="not-the-secret")
    stale = bot.mention("UADMIN", "where is ldap3", timestamp=int(time.time()) - 600)
    assert (forged.status, stale.status) == (401, 401)
    slash = bot.command("UADMIN", "where is web2")
    assert slash.status == 200  # the same request, signed properly, is accepted
    bot.settled()  # every request answered so far has finished its work
    assert [c.method for c in bot.slack.calls if c.method.startswith("chat.")] == ["chat.postMessage"]
    assert [e.text for e in bot.engine.inventory.audit(limit=10) if e.user == "UADMIN"] == ["where is web2"]


def test_a_retried_event_runs_once(bot):
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    target = other_host(bot, "imap3")
    first = bot.mention("UOPER", f"migrate imap3 to {target}", event_id="EvSAME")
    again = bot.mention("UOPER", f"migrate imap3 to {target}", event_id="EvSAME", headers=retry)
    assert (first.status, again.status) == (200, 200)
    bot.preview("imap3")
    bot.mention("UOPER", "where is imap3", event_id="EvREAD")
    bot.mention("UOPER", "where is imap3", event_id="EvREAD", headers=retry)
    bot.reply(lambda c: c.text.startswith("imap3 is on"))
    bot.settled()  # a retry that got through would have run by now
    assert len(bot.slack.of("chat.postMessage")) == 2  # one preview, one answer
    assert [e.text for e in bot.engine.inventory.audit(limit=50) if e.user == "UOPER"] == ["where is imap3"]


def test_a_slow_migration_is_acked_at_once_and_its_status_message_updated(bot):
    bot.slow_shutdowns(3.2)  # the guest takes 3.2 s to shut down (real ones take longer): past Slack's 3 s
    source, target = where(bot, "imap4"), other_host(bot, "imap4")
    bot.mention("UOPER", f"migrate imap4 to {target}")
    preview = bot.preview("imap4")
    click = bot.click("UOPER", preview, CONFIRM)
    assert click.status == 200
    assert click.seconds < 1.0  # Slack wants its answer within 3 s; the migration takes longer
    status = bot.reply(lambda c: c.text.startswith(":hourglass_flowing_sand:"))
    assert status.body["thread_ts"] == preview.body["thread_ts"]
    done = final(bot, "imap4")
    assert where(bot, "imap4") == target
    updates = [c for c in bot.slack.of("chat.update") if c.body.get("ts") == status.answer["ts"]]
    assert any(f"shutting imap4 down on {source}" in c.text for c in updates)
    assert updates[-1].text.startswith(f"ok: imap4 moved from {source} to {target}")
    gaps = [b.at - a.at for a, b in zip(updates, updates[1:-1], strict=False)]
    assert all(gap >= 0.25 for gap in gaps)  # throttled: at most one update per interval (0.3 s here)
    assert float(done.text.split("took ")[1].split(" s")[0]) >= 3.2


def test_two_migrations_of_one_vm_never_overlap(bot):
    gate = bot.hold_shutdowns()
    source = where(bot, "imap5")
    first_target = other_host(bot, "imap5")
    second_target = other_host(bot, "imap5", besides=first_target)
    bot.mention("UOPER", f"migrate imap5 to {first_target}")
    first = bot.preview("imap5")
    bot.mention("UOPER2", f"migrate imap5 to {second_target}")
    second = bot.reply(lambda c: c.text.startswith("<@UOPER2> asked to"))
    clicks = [threading.Thread(target=bot.click, args=(user, preview, CONFIRM))
              for user, preview in (("UOPER", first), ("UOPER2", second))]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    bot.reply(lambda c: c.text.startswith("REFUSED") and "VM imap5 ·" in c.text)  # while the first runs
    gate.set()
    results = bot.slack.wait_for("chat.postMessage", lambda c: "VM imap5 ·" in c.text, count=2)
    assert sorted(c.text.split(":")[0] for c in results) == ["OK", "REFUSED"]
    refusal = next(c for c in bot.slack.of("chat.postMessage") if c.text.startswith("REFUSED"))
    winner = "otto" if "<@UOPER2> asked" in refusal.text else "olga"
    assert f"imap5 is busy: @{winner} is running 'migrate imap5 to " in refusal.text
    assert where(bot, "imap5") in (first_target, second_target)

    bot.mention("UOPER", f"migrate imap5 to {source}")  # once it is done, the VM is free again
    assert bot.preview(source).body["blocks"][-1]["type"] == "actions"


def test_a_new_request_on_a_busy_vm_is_refused_naming_who_holds_it(bot):
    gate = bot.hold_shutdowns()
    target = other_host(bot, "imap6")
    bot.mention("UOPER", f"migrate imap6 to {target}")
    bot.click("UOPER", bot.preview("imap6"), CONFIRM)
    bot.reply(lambda c: c.text.startswith(":hourglass_flowing_sand:"))
    bot.mention("UADMIN", "destroy imap6")
    refusal = bot.reply(lambda c: "busy" in c.text)
    # named, not pinged: the reply is for UADMIN, who asked
    assert refusal.text.startswith(f"imap6 is busy: @otto is running 'migrate imap6 to {target}' (")
    assert "<@UOPER>" not in refusal.text + str(refusal.body["blocks"])
    gate.set()
    assert final(bot, "imap6").text.startswith("OK:")


def test_when_the_channel_sees_a_change_start_its_vm_is_already_held(bot):
    # Anyone reading ":hourglass_flowing_sand: … starting" may ask for the VM next: it must be busy by then.
    held_when_posted: list[object] = []
    original = bot.slack.answer

    def answer(method, body):
        if method == "chat.postMessage" and str(body.get("text", "")).startswith(":hourglass_flowing_sand:"):
            held_when_posted.append(bot.engine.busy.holder("imap5"))
        return original(method, body)

    bot.slack.answer = answer
    target = other_host(bot, "imap5")
    bot.mention("UOPER", f"migrate imap5 to {target}")
    bot.click("UOPER", bot.preview("imap5"), CONFIRM)
    assert final(bot, "imap5").text.startswith("OK:")
    assert len(held_when_posted) == 1
    assert held_when_posted[0] is not None, "the status was posted before the VM's lock was taken"


def test_a_429_from_slack_is_waited_out_and_retried(bot):
    bot.slack.fail_once("chat.postMessage", 429, {"Retry-After": "1"})
    begun = time.monotonic()
    bot.mention("UVIEWER", "where is ldap3")
    reply = bot.reply(lambda c: True, count=2)
    assert time.monotonic() - begun >= 1.0
    assert reply.text == f"ldap3 is on {where(bot, 'ldap3')} (running)."
    posts = bot.slack.of("chat.postMessage")
    assert len(posts) == 2
    assert posts[0].body == posts[1].body


def test_a_body_bolt_cannot_parse_gets_400_and_no_traceback(bot):
    response = bot.post("payload=%7Bnot-json", "application/x-www-form-urlencoded")
    assert response.status in (400, 401, 404)
    assert "Traceback" not in response.body
    bot.settled()  # anything the bad body had started would have ended
    assert not [c for c in bot.slack.calls if c.method.startswith("chat.")]


def test_an_error_while_running_a_confirmed_change_is_one_sentence_in_the_thread(bot):
    target = other_host(bot, "smtp2")
    bot.mention("UOPER", f"migrate smtp2 to {target}")
    preview = bot.preview("smtp2")

    def broken(*args, **kwargs):
        raise RuntimeError("boom inside")

    bot.app.front_end.engine.confirm = broken
    bot.click("UOPER", preview, CONFIRM)
    note = bot.reply(lambda c: "went wrong" in c.text)
    assert note.body["thread_ts"] == preview.body["thread_ts"]
    assert "boom" not in note.text
