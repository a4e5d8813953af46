"""Running the bot: Socket Mode when an app token is set, else the HTTP endpoint; until stopped.

SIGTERM (the service being stopped) or SIGINT stops taking messages, lets every running change
finish its current step (none starts another), reports each as interrupted, and exits with 4
if a change was cut short, else 0. A second signal says what the bot is still waiting for.
The watcher, if given, starts with the bot and stops in the wind-down; its metrics are at /metrics.
The HTTP port serves /healthz and /metrics in both modes (in Socket Mode, nothing else).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING
from urllib.error import URLError

from bot.engine import Engine
from bot.slack.app import build_app
from bot.slack.http import HEALTH, METRICS, PATH, ServerLimits, SlackServer, WebServer
from bot.slack.settings import SlackSettings
from bot.watch.watcher import Watcher
from hypervisor import crashpoint
from hypervisor.threads import signals_left_to_main, start_thread, wait_in_slices

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    from slack_bolt import App

log = logging.getLogger("granja.slack")


def _unreachable(error: BaseException) -> str | None:
    """Why the API could not be reached (refused, no route, DNS, timeout), or None if it answered."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, URLError):
            reason = seen.reason
            return str(getattr(reason, "strerror", None) or reason)
        if isinstance(seen, OSError | TimeoutError):
            return seen.strerror or str(seen)
        seen = seen.__cause__ or seen.__context__
    text = str(error)  # Bolt re-raises some failures as text only
    marker = "urlopen error"
    if marker in text:
        return text.split(marker, 1)[1].strip(" >").split("] ", 1)[-1]
    return None


def serve(engine: Engine, settings: SlackSettings, *, host: str, port: int,
          watcher: Watcher | None = None, metrics: WSGIApplication | None = None) -> int:
    """Run the Slack bot (and the watcher, if given) until stopped; the exit code (2: bad token)."""
    client_log = logging.getLogger("slack_sdk.web.base_client")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)  # each retry of a refused connection: said once, below
    try:
        app = build_app(engine, settings, watcher=watcher)
    except Exception as exc:  # Bolt checks the token with auth.test at once: say why, not how
        unreachable = _unreachable(exc)
        if unreachable is not None:
            print(f"granja slack: cannot reach Slack's Web API at {settings.api_url}: {unreachable} "
                  "(check the network, a proxy, or SLACK_API_URL)", file=sys.stderr)
        else:
            print(f"granja slack: Slack did not accept SLACK_BOT_TOKEN at {settings.api_url}: {exc}",
                  file=sys.stderr)
        return 2
    finally:
        client_log.setLevel(level)
    stop = threading.Event()
    _on_signals(engine, stop)
    try:
        server = _web_server(engine, app, settings, host=host, port=port, metrics=metrics)
    except OSError as exc:
        print(f"granja slack: cannot listen on {host}:{port}: {exc.strerror} (choose another --port or "
              "--host)", file=sys.stderr)
        return 2
    if watcher is not None:  # its first poll of every host must not hold up answering Slack
        watcher.on_started = lambda found: print(f"granja slack: {found}", flush=True)
        start_thread(watcher.start, name="watch-start")
    try:
        server.start_in_thread()
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(app, settings.app_token)
            with signals_left_to_main():  # the handler starts its own threads
                handler.connect()  # type: ignore[no-untyped-call]
            wait_in_slices(stop)
            handler.close()  # type: ignore[no-untyped-call]
        else:
            wait_in_slices(stop)
    finally:
        server.stop()  # stops taking requests; running changes wind down below
        if watcher is not None:
            watcher.stop()
    return _wind_down(engine)


def _web_server(engine: Engine, app: App, settings: SlackSettings, *, host: str, port: int,
                metrics: WSGIApplication | None) -> WebServer:
    """The bot's HTTP port: Slack's endpoint, or in Socket Mode only the health check; metrics in both."""
    if settings.socket_mode:  # events come over the WebSocket: this port is for monitoring only
        server = WebServer(host=host, port=port, limits=ServerLimits(threads=2))
    else:
        server = SlackServer(app, signing_secret=settings.signing_secret, host=host, port=port)
    # Runs once the server has stopped taking requests (Ctrl-C, or stop()); add wind-down hooks here.
    server.on_stop(app.front_end.sweeper.close)  # type: ignore[attr-defined]
    if metrics is not None:
        server.mount(METRICS, metrics)
    paths = [METRICS] * (metrics is not None) + [HEALTH]
    urls = ", ".join(f"http://{host}:{server.port}{path}" for path in paths)
    where = f"Socket Mode; {urls}" if settings.socket_mode else f"listening on http://{host}:{server.port}{PATH}"
    print(f"granja slack: {engine.config.name}, {where}", flush=True)
    return server


def _on_signals(engine: Engine, stop: threading.Event) -> None:
    """SIGTERM and SIGINT: stop taking messages and ask running changes to stop after their step."""
    def handle(signum: int, _frame: object) -> None:
        if not stop.is_set():
            stop.set()
            engine.stopping.set()
            print(f"granja slack: {signal.Signals(signum).name}: stopping; running changes finish their "
                  "current step.", flush=True)
        else:
            doing = "; ".join(engine.waiting_for()) or "nothing"
            print(f"granja slack: still stopping, waiting for: {doing}", flush=True)
        crashpoint.handled()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _wind_down(engine: Engine) -> int:
    """Wait for running changes to end; 4 if one was interrupted, else 0."""
    while not engine.wait_idle(5.0):
        print(f"granja slack: waiting for: {'; '.join(engine.waiting_for())}", flush=True)
    return 4 if engine.interrupted else 0
