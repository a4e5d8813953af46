"""Running the bot: Socket Mode when an app token is set, else the HTTP endpoint; until interrupted."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable

from bot.engine import Engine
from bot.slack.app import build_app
from bot.slack.http import PATH, SlackServer
from bot.slack.settings import SlackSettings
from bot.watch.watcher import Watcher

log = logging.getLogger("granja.slack")


def serve(engine: Engine, settings: SlackSettings, *, host: str, port: int,
          watcher: Watcher | None = None, metrics: Callable[[], tuple[bytes, str]] | None = None) -> int:
    """Run the Slack bot (and the watcher, if given) until Ctrl-C; returns the exit code (2: bad token)."""
    try:
        app = build_app(engine, settings, watcher=watcher)
    except Exception as exc:  # Bolt checks the token with auth.test at once: say why, not how
        print(f"granja slack: Slack did not accept SLACK_BOT_TOKEN at {settings.api_url}: {exc}",
              file=sys.stderr)
        return 2
    if watcher is not None:  # its first poll of every host must not hold up answering Slack
        threading.Thread(target=watcher.start, name="watch-start", daemon=True).start()
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            print(f"granja slack: {engine.config.name}, Socket Mode", flush=True)
            SocketModeHandler(app, settings.app_token).start()  # type: ignore[no-untyped-call]
        else:
            server = SlackServer(app, host=host, port=port, metrics=metrics)
            print(f"granja slack: {engine.config.name}, listening on http://{host}:{server.port}{PATH}",
                  flush=True)
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"granja slack: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    finally:
        if watcher is not None:
            watcher.stop()
    return 0
