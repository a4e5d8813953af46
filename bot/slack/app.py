"""The Bolt app: Slack's events, the slash command and button clicks, acknowledged at once, worked on after.

Every listener runs in the request's thread, acks, and hands its work to a
worker pool, so Slack has its answer within milliseconds whatever the
command costs. Redelivered events (same `event_id`, with
`X-Slack-Retry-Num`) are acknowledged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.engine import Engine
from bot.slack.adapter import Where, event_from_command, event_from_message, from_a_bot
from bot.slack.alerts import ACK, MESSAGES, REMEDY, AlertClicks, SlackAlerts
from bot.slack.channels import ChannelKinds
from bot.slack.dedupe import SeenIds
from bot.slack.expiry import PreviewSweeper
from bot.slack.frontend import FrontEnd
from bot.slack.messages import CANCEL, CONFIRM
from bot.slack.permissions import GroupDirectory
from bot.slack.settings import SlackSettings
from bot.slack.user_names import UserNames
from bot.watch.model import Severity
from bot.watch.watcher import Watcher

log = logging.getLogger("granja.slack")
# Bolt also reads SLACK_BOT_TOKEN itself and warns that the client's token wins; it is the same token.
log.addFilter(lambda record: "`token` will be unused" not in record.getMessage())
COMMAND = "/granja"
WORKERS = 32  # concurrent commands; a long migration holds one worker for its whole run


def web_client(settings: SlackSettings) -> WebClient:
    """A Web API client that waits out 429s (Retry-After) and retries dropped connections."""
    return WebClient(token=settings.bot_token, base_url=settings.api_url,
                     retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3),
                                     ConnectionErrorRetryHandler(max_retry_count=2)])


def build_app(engine: Engine, settings: SlackSettings, *, status_interval: float = 2.0,
              watcher: Watcher | None = None, workers: ThreadPoolExecutor | None = None) -> App:
    """The Bolt app for granja, its listeners registered; `.front_end` holds the work it does.

    Given a watcher, its alerts go to the config's alert channel and their buttons are answered here.
    `workers` runs the commands (a pool of WORKERS threads unless given).
    """
    client = web_client(settings)
    workers = workers or ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="slack")
    # process_before_response=True: each listener runs in the request's own thread, acks, and hands
    # its work to the worker pool, so the answer to Slack never waits for the work (nor for Bolt's
    # 10 ms polling of an ack made in a worker, its default; nor for its deep copy of lazy requests).
    app = App(client=client, signing_secret=settings.signing_secret, process_before_response=True,
              listener_executor=workers, logger=log)
    # Expired previews are swept at a tenth of the confirmation time (30 s for the default 5 min).
    sweeper = PreviewSweeper(engine, client, interval=min(30.0, engine.config.access.confirm_seconds / 10))
    front = FrontEnd(engine=engine, client=client, status_interval=status_interval, sweeper=sweeper,
                     groups=GroupDirectory(client, enabled=bool(engine.config.access.groups)),
                     channels=ChannelKinds(client), names=UserNames(client))
    sweeper.start()
    app.middleware(_once_per_event(SeenIds()))
    _listen(app, front, workers)
    if watcher is not None:
        _listen_alerts(app, front, watcher, workers)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # Bolt's own failures: logged under an ID, never a traceback in the channel.
        front.fail_safely(None, error)
        return BoltResponse(status=500, body="")

    app.front_end = front  # type: ignore[attr-defined]
    return app


def _once_per_event(seen: SeenIds) -> Callable[..., BoltResponse | None]:
    def once_per_event(body: dict[str, Any], request: BoltRequest, next: Any) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id and not seen.first_time(str(event_id)):
            retry = request.headers.get("x-slack-retry-num", ["?"])[0]
            log.info("dropped redelivery %s of event %s", retry, event_id)
            return BoltResponse(status=200, body="")
        next()
        return None
    return once_per_event


def _listen(app: App, front: FrontEnd, workers: Executor) -> None:
    """Register each way in: acknowledged at once, the work done in the worker pool."""
    # Mentions and direct messages here; the slash command and the buttons in _listen_interactive.
    def later(where: Where | None, work: Callable[[], None]) -> None:
        workers.submit(_guard, front, where, work)

    def on_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext, via: str) -> None:
        if from_a_bot(event, bot_user=context.bot_user_id or ""):
            return  # its own messages and other bots': never commands, never answered
        def work() -> None:
            user = str(event.get("user", ""))
            chat, where = event_from_message(event, team=str(body.get("team_id", "")), via=via,
                                             bot_user=context.bot_user_id or "", groups=front.groups.of(user),
                                             kind_of=front.kind_of,
                                             event_id=str(body.get("event_id", "")))
            front.handle(chat, where)
        thread = str(event.get("thread_ts") or event.get("ts") or "")
        later(Where(str(event.get("channel", "")), thread), work)

    @app.event("app_mention")
    def mention(ack: Ack, event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        ack()
        on_message(event, body, context, "mention")

    @app.event("message")
    def direct_message(ack: Ack, event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        ack()
        if event.get("channel_type") == "im" and not event.get("subtype"):
            on_message(event, body, context, "direct message")  # not channel chatter, edits (nor bots)

    _listen_interactive(app, front, later)


def _listen_interactive(app: App, front: FrontEnd, later: Callable[[Where | None, Callable[[], None]], None]
                        ) -> None:
    """The slash command and the Confirm/Cancel buttons: acked at once, worked on later."""
    @app.command(COMMAND)
    def slash(ack: Ack, body: dict[str, Any]) -> None:
        ack()

        def work() -> None:
            chat, where = event_from_command(body, groups=front.groups.of(str(body.get("user_id", ""))))
            front.handle(chat, where)
        later(Where(str(body.get("channel_id", ""))), work)

    def clicked(body: dict[str, Any]) -> Where:
        message = body.get("message", {})
        return Where(str(body.get("channel", {}).get("id", "")),
                     str(message.get("thread_ts") or message.get("ts") or ""))

    @app.action(CONFIRM)
    def confirm(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        later(clicked(body), lambda: front.click(body, confirming=True))

    @app.action(CANCEL)
    def cancel(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        later(clicked(body), lambda: front.click(body, confirming=False))


def _listen_alerts(app: App, front: FrontEnd, watcher: Watcher, workers: Executor) -> None:
    """Alerts to the alert channel, and their Acknowledge and remedy buttons."""
    alerts = front.engine.config.alerts
    if alerts.channel:
        watcher.sinks.append(SlackAlerts(front.client, channel=alerts.channel, clock=watcher.clock,
                                         min_severity=Severity.named(alerts.min_severity),
                                         remember=front.engine.inventory.directory / MESSAGES,
                                         names=front.names))
    clicks = AlertClicks(acknowledge=lambda alert, by: watcher.acknowledge(alert, by=by),
                         role_of=lambda event: front.engine.standing(event).role, handle=front.handle,
                         client=front.client, groups=front.groups.of, kind_of=front.kind_of)

    def alert_button(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        message = body.get("message", {})
        where = Where(str(body.get("channel", {}).get("id", "")), str(message.get("ts") or ""))
        workers.submit(_guard, front, where, lambda: clicks.click(body))

    app.action(ACK)(alert_button)
    app.action(REMEDY)(alert_button)


def _guard(front: FrontEnd, where: Where | None, work: Callable[[], None]) -> None:
    """Run the work; an unexpected error is logged with an ID and reported in one sentence."""
    try:
        work()
    except Exception as exc:
        front.fail_safely(where, exc)
