"""Alerts in the Slack channel: one message per alert, updated in place, with Acknowledge and the remedy.

The watcher hands transitions to `SlackAlerts` (a sink): the first posts the
message to `[alerts] channel`, later ones rewrite it with chat.update — a
change of wording, an acknowledgement, a flap, the resolution. Clicks come
back through `AlertClicks`: Acknowledge is open to anyone granja knows (a
viewer too) and is recorded; the remedy button sends its command through
the ordinary path — parse, permission, preview, confirmation — in the
alert's thread, so a viewer clicking it is refused as if they had typed it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.engine import ChatEvent
from bot.slack.adapter import Where, event_from_click
from bot.slack.blocks import Block, context, section
from bot.slack.people import NOBODY, People, mentioned, say
from bot.slack.safe import slack_escape, slack_format
from bot.slack.user_names import UserNames
from bot.watch.model import KINDS, Severity
from bot.watch.tracker import Alert, Transition
from bot.watch.words import acknowledged, headline, since
from inventory.state_file import StateFile

log = logging.getLogger("granja.slack")
ACK = "granja_alert_ack"
REMEDY = "granja_alert_remedy"
_ICON = {Severity.INFO: ":information_source:", Severity.WARNING: ":warning:",
         Severity.CRITICAL: ":rotating_light:"}
MESSAGES = Path("slack") / "alert-messages.json"  # in the state directory
KEEP_RESOLVED = 86_400.0  # seconds a resolved alert's message is remembered (past any flap window)


def alert_message(alert: Alert, now: float, people: People = NOBODY) -> tuple[str, list[Block]]:
    """The alert's message: what, where, since when, who acknowledged it, and its buttons while it fires.

    Who acknowledged is named (by `people`'s names), not pinged: the message is for the channel.
    """
    condition = alert.condition
    title = KINDS[condition.kind].title
    said = headline(alert, now)
    if alert.firing:
        head = slack_format(f"{_ICON[alert.severity]} *{alert.severity.word.upper()}* {{title}}: {{said}}",
                            title=title, said=said)
    else:
        head = slack_format(":white_check_mark: {title} {said}", title=title, said=said)
    notes = [since(alert), *([acknowledged(alert)] if alert.acked_by else [])]
    blocks: list[Block] = [section(head)]
    if not alert.firing:
        blocks.append(context(slack_format("was: {message}", message=condition.message)))
    blocks.append(context(say(" · ".join(notes), people.inert())))
    if alert.firing:
        buttons: list[Block] = []
        if not alert.acked_by:
            buttons.append({"type": "button", "action_id": ACK, "value": alert.id,
                            "text": {"type": "plain_text", "text": "Acknowledge"}})
        if condition.remedy:
            label = {"type": "plain_text", "text": condition.remedy[:70]}
            buttons.append({"type": "button", "action_id": REMEDY, "value": condition.remedy,
                            "style": "primary", "text": label})
        if buttons:
            blocks.append({"type": "actions", "block_id": f"granja_alert_{alert.id}", "elements": buttons})
    text = f"{alert.severity.word}: {said}" if alert.firing else said
    return slack_escape(text), blocks


@dataclass(frozen=True)
class Posted:
    """An alert's message: its ts, a digest of what it shows, and when its alert resolved (None: firing)."""

    ts: str
    shown: str
    resolved_at: float | None = None


class SlackAlerts:
    """A watcher sink that posts each alert to the alert channel once and keeps its message current.

    `remember` is the file (`MESSAGES` in the state directory) that keeps the alert -> message
    map across restarts; None keeps it in memory only. `names` gives who acknowledged by name.
    """

    def __init__(self, client: Any, *, channel: str, min_severity: Severity,
                 clock: Callable[[], float], remember: Path | None = None,
                 names: UserNames | None = None) -> None:
        self.client, self.channel, self.min_severity, self._clock = client, channel, min_severity, clock
        self._names = names
        self._file = StateFile(remember, dict[str, Posted], what="alert messages") if remember else None
        self._posted: dict[str, Posted] = (self._file.load() if self._file else None) or {}  # by alert id
        self._lock = threading.Lock()

    def alert(self, transition: Transition) -> None:
        """Post the alert's message on first firing, else update it in place if it shows something else."""
        alert = transition.alert
        if alert.severity < self.min_severity:
            return
        acker = mentioned(alert.acked_by)
        people = People(self._names.names(acker)) if self._names is not None and acker else NOBODY
        text, blocks = alert_message(alert, self._clock(), people)
        shown = hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()[:16]
        with self._lock:  # one alert's post and updates in order
            posted = self._posted.get(alert.id)
            if posted is None:
                if not alert.firing:
                    return  # resolved before it was ever posted
                answer = self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
                posted = Posted(str(answer.get("ts", "")), shown)
            elif posted.shown == shown:
                return  # it says that already (an alert recalled after a restart, unchanged)
            else:
                self.client.chat_update(channel=self.channel, ts=posted.ts, text=text, blocks=blocks)
                posted = Posted(posted.ts, shown, alert.resolved_at)
            self._posted[alert.id] = posted
            self._save()

    def _save(self) -> None:
        """Forget messages of alerts resolved long ago, and write the rest (with the lock held)."""
        cutoff = self._clock() - KEEP_RESOLVED
        old = [i for i, posted in self._posted.items() if (posted.resolved_at or cutoff) < cutoff]
        for alert_id in old:
            del self._posted[alert_id]
        if self._file is not None:
            self._file.save(self._posted)


class AlertClicks:
    """The alert buttons: Acknowledge (anyone with a role) and the remedy (its command, as if typed)."""

    def __init__(self, *, acknowledge: Callable[[str, str], Alert | None],
                 role_of: Callable[[ChatEvent], str | None], handle: Callable[[ChatEvent, Where], None],
                 client: Any, groups: Callable[[str], list[str]], kind_of: Callable[[str], str]) -> None:
        self._acknowledge, self._role_of, self._handle = acknowledge, role_of, handle
        self.client, self._groups, self._kind_of = client, groups, kind_of

    def click(self, body: dict[str, Any]) -> None:
        """Acknowledge, or run the remedy through the ordinary preview and confirmation."""
        user = str(body.get("user", {}).get("id", ""))
        clicker = event_from_click(body, groups=self._groups(user), kind_of=self._kind_of)
        action = (body.get("actions") or [{}])[0]
        message = body.get("message", {})
        where = Where(clicker.channel, str(message.get("thread_ts") or message.get("ts") or ""))
        if action.get("action_id") == ACK:
            self._ack(clicker, str(action.get("value", "")), where)
            return
        remedy = replace(clicker, text=str(action.get("value", "")))
        self._handle(remedy, where)

    def _ack(self, clicker: ChatEvent, alert_id: str, where: Where) -> None:
        if self._role_of(clicker) is None:
            self._tell(clicker, where, "granja does not know you, so you cannot acknowledge alerts; "
                                       "ask an admin.")
            return
        if self._acknowledge(alert_id, clicker.who) is None:
            self._tell(clicker, where, "That alert is no longer open; nothing to acknowledge.")

    def _tell(self, clicker: ChatEvent, where: Where, text: str) -> None:
        self.client.chat_postEphemeral(channel=where.channel, user=clicker.user, text=text,
                                       thread_ts=where.thread_ts or None)
