"""Alerts in Slack through the real Bolt app: one message, updated in place, buttons with permissions."""

from __future__ import annotations

import json
import os

from bot.slack.alerts import ACK, REMEDY
from tests.watch.conftest import ALERTS


def posted(bot, text: str):
    return bot.slack.wait_for("chat.postMessage",
                              lambda c: c.body.get("channel") == ALERTS and text in c.text)[-1]


def step(bot, seconds: float = 0.0) -> None:
    bot.watcher.poll()
    bot.clock.advance(seconds)
    bot.watcher.evaluate()


def test_a_host_going_down_is_one_message_updated_when_it_answers_again(alerting):
    node = alerting.engine.config.hosts["host09"].uri.removeprefix("test://")
    away = node + ".away"
    os.rename(node, away)
    step(alerting, 6)
    message = posted(alerting, "host09 is not answering")
    assert "it ran 3 VMs: ci, imap3 and samba1" in message.blocks_text
    assert "*CRITICAL* host unreachable" in message.blocks_text
    buttons = [e["text"]["text"] for b in message.body["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert buttons == ["Acknowledge", "recover host09"]
    os.rename(away, node)
    step(alerting, 240)
    update = alerting.slack.wait_for("chat.update", lambda c: "resolved" in c.text)[-1]
    assert update.body["ts"] == message.answer.get("ts", update.body["ts"])
    assert update.text.startswith("resolved after 4 min: host09 answers again")
    # one message for the host, none for each of its VMs
    assert [c for c in alerting.slack.of("chat.postMessage") if c.body.get("channel") == ALERTS
            and any(vm in c.text for vm in ("samba1 ", "ci "))] == []


def test_acknowledge_by_a_viewer_is_allowed_and_audited_the_remedy_is_refused(alerting):
    alerting.engine.farm.driver("host02").lifecycle("db1", "destroy")
    step(alerting, 2)
    message = posted(alerting, "db1 stopped on host02")
    alerting.click("UVIEWER", message, ACK, channel=ALERTS)
    update = alerting.slack.wait_for("chat.update", lambda c: "acknowledged by" in c.blocks_text)[-1]
    assert "acknowledged by @vera at" in update.blocks_text  # named, not pinged
    assert "<@UVIEWER>" not in update.text + json.dumps(update.body["blocks"])
    assert ACK not in str(update.body["blocks"])  # acknowledged once; the remedy stays
    entries = alerting.engine.inventory.audit(vm="db1", limit=5)
    assert [e.user for e in entries if e.text.startswith("alert acknowledged")] == ["<@UVIEWER>"]
    alerting.click("UVIEWER", message, REMEDY, channel=ALERTS)
    refusal = alerting.reply(lambda c: "needs the operator role" in c.text or "needs the operator role"
                             in c.blocks_text)
    assert "'start' needs the operator role" in refusal.blocks_text
    assert alerting.engine.inventory.audit(vm="db1", limit=1)[0].outcome == "refused"


def test_the_remedy_of_an_operator_opens_the_ordinary_preview(alerting):
    alerting.engine.farm.driver("host02").lifecycle("db1", "destroy")
    step(alerting, 2)
    message = posted(alerting, "db1 stopped on host02")
    alerting.click("UOPER", message, REMEDY, channel=ALERTS)
    preview = alerting.preview("db1")
    assert "asked to *start db1" in preview.blocks_text
    assert preview.body.get("thread_ts")  # in the alert's thread


def test_hostile_names_are_escaped(alerting):
    farm = alerting.engine.farm
    xml = farm.driver("host02").domain_xml("db1")
    xml = xml.replace("<name>db1</name>", "<name>x&lt;!channel&gt;</name>")
    farm.driver("host03").define(xml)
    farm.driver("host03").lifecycle("x<!channel>", "start")
    step(alerting, 0)
    farm.driver("host03").lifecycle("x<!channel>", "destroy")
    step(alerting, 3)
    message = posted(alerting, "stopped on host03")
    markup = [b["text"]["text"] for b in message.body["blocks"] if b["type"] == "section"]
    assert "x&lt;!channel&gt; stopped on host03" in markup[0]
    assert "<!channel>" not in markup[0]
    # The remedy's button label is plain_text, which Slack never reads as markup.
    labels = [e["text"] for b in message.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"type": "plain_text", "text": "start x<!channel>"} in labels


def test_a_vm_alert_on_a_host_that_stops_answering_is_held_and_its_message_updated_once_each_way(alerting):
    alerting.engine.farm.driver("host02").lifecycle("db1", "destroy")
    step(alerting, 2)
    message = posted(alerting, "db1 stopped on host02")
    ts = message.answer["ts"]
    node = alerting.engine.config.hosts["host02"].uri.removeprefix("test://")
    os.rename(node, node + ".away")
    step(alerting, 1)  # evaluated at once: the watcher is not started, so delivery is synchronous

    def updates() -> list:
        return [c for c in alerting.slack.of("chat.update") if c.body.get("ts") == ts]

    (held,) = updates()
    assert held.text.startswith("warning: db1 stopped on host02")  # not resolved: unknown
    assert "; not known now: host02 is not answering since" in held.text
    assert "resolved" not in held.blocks_text
    os.rename(node + ".away", node)
    step(alerting, 1)
    (_, back) = updates()  # one message when it answers again: what the host now says
    assert back.text == message.text
