"""The Slack sink finds its alert messages again after a restart: updated in place, never posted twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.slack.alerts import SlackAlerts
from bot.watch.model import Condition, Severity
from bot.watch.tracker import Alert, Transition
from tests.slack.standin import SlackStandIn
from tests.watch.conftest import ALERTS

NOW = time.time()
ALERT = Alert(id="a1b2c3d4", first_seen=NOW - 60, fired_at=NOW - 30, condition=Condition(
    key="host_unreachable:host07", kind="host_unreachable", subject="host07",
    message="host07 is not answering since 03:12 UTC (keepalive timed out); it ran 2 VMs: imap3 and imap7",
    cleared="host07 answers again", since=NOW - 60, remedy="recover host07", hosts=("host07",),
    vms=("imap3", "imap7")))


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = SlackStandIn()
    standin.thread.start()
    yield standin
    standin.shutdown()
    standin.server_close()


def sink(slack: SlackStandIn, path: Path) -> SlackAlerts:
    """The sink as a new `granja slack` process builds it."""
    client = WebClient(token="xoxb-test", base_url=slack.url)
    return SlackAlerts(client, channel=ALERTS, min_severity=Severity.WARNING, clock=lambda: NOW,
                       remember=path)


def test_a_resolution_after_a_restart_updates_the_old_message_and_takes_its_buttons(slack, tmp_path):
    path = tmp_path / "slack" / "alert-messages.json"
    sink(slack, path).alert(Transition("fired", ALERT))
    (post,) = slack.of("chat.postMessage")
    again = sink(slack, path)  # restarted
    again.alert(Transition("recalled", ALERT))  # still firing, same words: nothing to say
    assert [c.method for c in slack.calls if c.method.startswith("chat.")] == ["chat.postMessage"]
    again.alert(Transition("resolved", replace(ALERT, resolved_at=NOW + 180)))
    (update,) = slack.of("chat.update")
    assert update.body["ts"] == post.answer["ts"]
    assert update.text == "resolved after 4 min: host07 answers again"
    assert [b for b in update.body["blocks"] if b["type"] == "actions"] == []  # no buttons left
    assert len(slack.of("chat.postMessage")) == 1


def test_changed_words_after_a_restart_update_the_message_in_place(slack, tmp_path):
    path = tmp_path / "alert-messages.json"
    sink(slack, path).alert(Transition("fired", ALERT))
    (post,) = slack.of("chat.postMessage")
    reworded = replace(ALERT, condition=replace(ALERT.condition, message="host07 is not answering (refused)"))
    sink(slack, path).alert(Transition("recalled", reworded))
    (update,) = slack.of("chat.update")
    assert update.body["ts"] == post.answer["ts"]
    assert "host07 is not answering (refused)" in update.text


def test_an_alert_the_last_run_never_posted_is_posted_when_recalled(slack, tmp_path):
    # Killed after the tracker saved the alert and before Slack heard of it: it is posted now, once.
    restarted = sink(slack, tmp_path / "alert-messages.json")
    restarted.alert(Transition("recalled", ALERT))
    restarted.alert(Transition("recalled", ALERT))
    (post,) = slack.of("chat.postMessage")
    assert post.text.startswith("critical: host07 is not answering")
    # ... but a resolved alert it never posted is not posted just to say it is over
    restarted.alert(Transition("recalled", replace(ALERT, id="e5f6a7b8", resolved_at=NOW)))
    assert len(slack.of("chat.postMessage")) == 1
