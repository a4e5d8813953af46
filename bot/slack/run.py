"""Running the bot: Socket Mode when an app token is set, else the HTTP endpoint; until interrupted."""

from __future__ import annotations

import logging
import sys

from bot.engine import Engine
from bot.slack.app import build_app
from bot.slack.http import PATH, SlackServer
from bot.slack.settings import SlackSettings

log = logging.getLogger("granja.slack")


def serve(engine: Engine, settings: SlackSettings, *, host: str, port: int) -> int:
    """Run the Slack bot until Ctrl-C; returns the exit code (2 if Slack refuses the token)."""
    try:
        app = build_app(engine, settings)
    except Exception as exc:  # Bolt checks the token with auth.test at once: say why, not how
        print(f"granja slack: Slack did not accept SLACK_BOT_TOKEN at {settings.api_url}: {exc}",
              file=sys.stderr)
        return 2
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            print(f"granja slack: {engine.config.name}, Socket Mode", flush=True)
            SocketModeHandler(app, settings.app_token).start()  # type: ignore[no-untyped-call]
        else:
            server = SlackServer(app, signing_secret=settings.signing_secret, host=host, port=port)
            # Runs once the server has stopped taking requests (Ctrl-C, or stop()); add wind-down hooks here.
            server.on_stop(app.front_end.sweeper.close)  # type: ignore[attr-defined]
            print(f"granja slack: {engine.config.name}, listening on http://{host}:{server.port}{PATH}",
                  flush=True)
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"granja slack: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
