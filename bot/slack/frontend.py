"""The Slack front end's work, after the ack: run a message through the engine, post, confirm, report.

Everything here runs in the app's worker pool once Slack has had its answer,
so an operation may take minutes. Replies go to the thread of the message
that asked; a change's preview, status and result share one thread. People
a reply names are looked up by name first (`UserNames`) and shown without a
ping, except the requester and the confirmer in replies to their own request.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.engine import ChatEvent, ClaimRefused, Engine, Pending
from bot.results import Reply
from bot.slack import messages
from bot.slack.adapter import Where, event_from_click
from bot.slack.blocks import Block, context, named, reply_message
from bot.slack.channels import ChannelKinds
from bot.slack.dedupe import SeenIds
from bot.slack.expiry import PreviewSweeper
from bot.slack.people import NOBODY, People, mentioned, say
from bot.slack.permissions import GroupDirectory
from bot.slack.safe import slack_escape
from bot.slack.status import StatusMessage
from bot.slack.user_names import UserNames

log = logging.getLogger("granja.slack")
_NOT_THERE = ("not_in_channel", "channel_not_found")
STRANGER_WINDOW = 600.0  # a stranger is told "not allowed here" at most once per 10 minutes


@dataclass
class FrontEnd:
    """Carries Slack requests through the engine and posts what comes back."""

    engine: Engine
    client: Any  # slack_sdk WebClient
    groups: GroupDirectory
    status_interval: float = 2.0
    # Answers share the GIL with the acks of requests still arriving: a few at a time leaves the
    # acks most of it in a burst. Confirmed changes (long, mostly waiting on hosts) are not counted.
    answering: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(4))
    sweeper: PreviewSweeper | None = None
    channels: ChannelKinds | None = None  # what kind a channel is, when an event does not say
    strangers: SeenIds = field(default_factory=lambda: SeenIds(ttl=STRANGER_WINDOW))  # who was told, lately
    names: UserNames | None = None  # people's display names, to name them without a ping

    def kind_of(self, channel: str) -> str:
        """The channel's kind ("im", "private" or "" for public), asked of Slack if need be."""
        return self.channels.kind_of(channel) if self.channels is not None else ""

    def handle(self, event: ChatEvent, where: Where) -> None:
        """Answer a message or slash command; a change gets a preview with Confirm/Cancel."""
        with self.answering:
            self._answer(event, where)

    def _answer(self, event: ChatEvent, where: Where) -> None:
        if where.thread_ts and event.extra.get("message_ts"):
            link = self.permalink(where.channel, event.extra["message_ts"])
            if link:
                event.extra["permalink"] = link
        prepared = self.engine.prepare(event)
        if isinstance(prepared, Reply) and prepared.extra.get("stranger"):
            self.refuse_stranger(event, where, prepared)
            return
        if isinstance(prepared, Reply):
            self.post(where, *reply_message(prepared, people=self.people(named(prepared), event)))
            return
        expires = datetime.now(UTC) + timedelta(seconds=self.engine.config.access.confirm_seconds)
        text, blocks = messages.preview(prepared, expires=expires)
        ts = self.post(where, text, blocks)
        if self.sweeper is not None:
            self.sweeper.remember(prepared.id, channel=where.channel, ts=ts, text=text, blocks=blocks)

    def refuse_stranger(self, event: ChatEvent, where: Where, reply: Reply) -> None:
        """One short ephemeral "not allowed here" to the person alone, at most once per user and window."""
        if not self.strangers.first_time(event.user):
            return
        text = f":no_entry: {slack_escape(reply.summary)}"
        try:
            self.client.chat_postEphemeral(channel=where.channel, user=event.user, text=text,
                                           thread_ts=where.thread_ts or None)
        except SlackApiError:
            if where.response_url:  # a slash command where the bot is not a member
                WebhookClient(where.response_url).send(response_type="ephemeral", text=text)
            else:
                log.warning("could not tell %s they are not allowed in %s", event.user, where.channel)

    def click(self, body: dict[str, Any], *, confirming: bool) -> None:
        """A Confirm or Cancel click: check it, then run or drop the change, in the preview's thread."""
        user = str(body.get("user", {}).get("id", ""))
        clicker = event_from_click(body, groups=self.groups.of(user), kind_of=self.kind_of)
        message = body.get("message", {})
        where = Where(clicker.channel, str(message.get("thread_ts") or message.get("ts", "")))
        pending_id = str(body["actions"][0].get("value", ""))
        try:
            pending = self.engine.claim(pending_id, by=clicker, confirming=confirming)
        except ClaimRefused as exc:
            # Told to the clicker: the people it names (who asked, who decided) are named, not pinged.
            said = say(str(exc), self.people(mentioned(str(exc))))
            self.client.chat_postEphemeral(channel=where.channel, user=user, text=said,
                                           thread_ts=where.thread_ts or None)
            if exc.over:  # take the dead buttons away, so nobody else clicks them
                kept = [b for b in message.get("blocks", []) if b.get("type") != "actions"]
                self.update(clicker.channel, str(message.get("ts", "")), str(message.get("text", "")),
                            [*kept, context(said)])
            if exc.over and self.sweeper is not None:
                self.sweeper.forget(pending_id)
            return  # a refused bystander: the preview still waits, and the sweeper still watches it
        if self.sweeper is not None:
            self.sweeper.forget(pending_id)
        extra = {"permalink": self.permalink(where.channel, str(message.get("ts", "")))}
        self.update(where.channel, str(message.get("ts", "")), *messages.decided(pending, by=user,
                                                                                 confirmed=confirming))
        begun, started = datetime.now(UTC), time.monotonic()
        if confirming:
            reply = self._run(pending, by=user, where=where, extra=extra)
        else:
            reply = self.engine.cancel(pending, by=user, extra=extra)
        seconds = time.monotonic() - started
        people = self.people(named(reply), pending.event, clicker)
        self.post(where, *messages.final(pending, reply, by=user, begun=begun, seconds=seconds,
                                         people=people))

    def _run(self, pending: Pending, *, by: str, where: Where, extra: dict[str, str]) -> Reply:
        status = StatusMessage(self.client, channel=where.channel, thread_ts=where.thread_ts,
                               title=pending.plan.preview, interval=self.status_interval)
        try:
            reply = self.engine.confirm(pending, by=by, progress=status.progress, extra=extra,
                                        on_held=status.start)
        except BaseException:
            status.finish("stopped by an internal error")
            raise
        status.finish(f"{reply.outcome.value}: {reply.summary}")
        return reply

    def people(self, users: set[str], *asking: ChatEvent) -> People:
        """How to show `users` (Slack IDs a message names): by display name, asked of Slack.

        The people of `asking` (who asked, who confirmed) are mentioned live: it answers their own
        request. Anyone else (who holds a busy VM, who decided a request, the audit's people) is
        named, not pinged; a name Slack cannot give is shown as the raw ID, inert.
        """
        pinged = NOBODY.pinging(*(event.user for event in asking))  # still named in a table or a list
        names = self.names.names(users) if self.names is not None and users else {}
        return People(names, pinged.live)

    def post(self, where: Where, text: str, blocks: list[Block]) -> str:
        """Post in the thread (a new message when there is none yet); returns the message's ts."""
        try:
            response = self.client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts or None,
                                                    text=text, blocks=blocks)
        except SlackApiError as exc:
            if not where.response_url or exc.response.get("error") not in _NOT_THERE:
                raise
            # A slash command in a channel the bot is not in: say so to the person, by the command's URL.
            WebhookClient(where.response_url).send(response_type="ephemeral", text=(
                "I cannot post in this channel: invite me with `/invite @granja`, or ask me in a direct "
                "message."))
            return ""
        return str(response.get("ts", ""))

    def update(self, channel: str, ts: str, text: str, blocks: list[Block]) -> None:
        """Replace a message's text and blocks."""
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except Exception:  # the decision stands even if the old preview keeps its buttons
            log.exception("could not update message %s in %s", ts, channel)

    def permalink(self, channel: str, ts: str) -> str:
        """The message's permalink for the audit, or '' if Slack will not give one."""
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except Exception:
            log.warning("no permalink for message %s in %s", ts, channel, exc_info=True)
            return ""

    def fail_safely(self, where: Where | None, error: BaseException) -> str:
        """Log an unexpected error under a new ID and tell the user in one sentence; returns the ID."""
        error_id = secrets.token_hex(3).upper()
        log.error("error %s in the Slack front end", error_id, exc_info=error)
        if where is not None:
            try:
                self.client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts or None,
                                             text=f":warning: Something went wrong inside granja (error "
                                                  f"{error_id}); the log has the details under that ID.")
            except Exception:
                log.exception("could not report error %s to Slack", error_id)
        return error_id
