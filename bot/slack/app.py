"""The Bolt app: Slack's events, the slash command and button clicks, acknowledged at once, worked on after.

Bolt acknowledges Events API requests itself; the slash command and the
buttons call `ack()` first. With `process_before_response=False` Bolt then
runs the listener in its thread pool, so Slack gets its answer within
milliseconds whatever the command costs. Redelivered events (same
`event_id`, with `X-Slack-Retry-Num`) are acknowledged and dropped.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.engine import Engine
from bot.slack.adapter import event_from_command, event_from_message
from bot.slack.dedupe import SeenIds
from bot.slack.frontend import FrontEnd
from bot.slack.messages import CANCEL, CONFIRM
from bot.slack.permissions import GroupDirectory
from bot.slack.settings import SlackSettings

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


def build_app(engine: Engine, settings: SlackSettings, *, status_interval: float = 2.0) -> App:
    """The Bolt app for granja, its listeners registered; `.front_end` holds the work it does."""
    client = web_client(settings)
    app = App(client=client, signing_secret=settings.signing_secret, process_before_response=False,
              listener_executor=ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="slack"),
              logger=log)
    front = FrontEnd(engine=engine, client=client, status_interval=status_interval,
                     groups=GroupDirectory(client, enabled=bool(engine.config.access.groups)))
    seen = SeenIds()

    @app.middleware
    def once_per_event(body: dict[str, Any], request: BoltRequest, next: Any) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id and not seen.first_time(str(event_id)):
            retry = request.headers.get("x-slack-retry-num", ["?"])[0]
            log.info("dropped redelivery %s of event %s", retry, event_id)
            return BoltResponse(status=200, body="")
        next()
        return None

    def on_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext, via: str) -> None:
        user = str(event.get("user", ""))
        chat, where = event_from_message(event, team=str(body.get("team_id", "")), via=via,
                                         bot_user=context.bot_user_id or "", groups=front.groups.of(user),
                                         event_id=str(body.get("event_id", "")))
        _guard(front, where, lambda: front.handle(chat, where))

    @app.event("app_mention")
    def mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        on_message(event, body, context, "mention")

    @app.event("message")
    def direct_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return  # channel chatter, edits and bots' messages are not commands
        on_message(event, body, context, "direct message")

    @app.command(COMMAND)
    def slash(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        chat, where = event_from_command(body, groups=front.groups.of(str(body.get("user_id", ""))))
        _guard(front, where, lambda: front.handle(chat, where))

    @app.action(CONFIRM)
    def confirm(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        _guard(front, None, lambda: front.click(body, confirming=True))

    @app.action(CANCEL)
    def cancel(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        _guard(front, None, lambda: front.click(body, confirming=False))

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # Bolt's own failures: logged under an ID, never a traceback in the channel.
        front.fail_safely(None, error)
        return BoltResponse(status=500, body="")

    app.front_end = front  # type: ignore[attr-defined]
    return app


def _guard(front: FrontEnd, where: Any, work: Any) -> None:
    """Run the work; an unexpected error is logged with an ID and reported in one sentence."""
    try:
        work()
    except Exception as exc:
        front.fail_safely(where, exc)
