"""The Slack settings from the environment, checked at start so a typo is one clear line, not a traceback."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

SLACK_API = "https://slack.com/api/"


class SettingsError(Exception):
    """A Slack setting is missing or malformed; the message names it and says what to do."""


@dataclass(frozen=True)
class SlackSettings:
    """Tokens, the signing secret and the Web API's address."""

    bot_token: str
    signing_secret: str = ""
    app_token: str = ""  # set: Socket Mode; empty: HTTP mode with the signing secret
    api_url: str = SLACK_API

    @property
    def socket_mode(self) -> bool:
        """Whether the bot connects out to Slack (Socket Mode) rather than taking HTTP requests."""
        return bool(self.app_token)


def read_settings(env: Mapping[str, str] | None = None) -> SlackSettings:
    """SLACK_BOT_TOKEN, SLACK_APP_TOKEN or SLACK_SIGNING_SECRET, and SLACK_API_URL, checked."""
    env = os.environ if env is None else env
    bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
    if not bot_token:
        raise SettingsError("SLACK_BOT_TOKEN is not set: give the app's Bot User OAuth Token (xoxb-…), "
                            "from OAuth & Permissions in the Slack app's settings.")
    if not bot_token.startswith("xoxb-"):
        raise SettingsError(f"SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-', not "
                            f"'{bot_token[:5]}…'; user (xoxp-) and app (xapp-) tokens do not work here.")
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if app_token and not app_token.startswith("xapp-"):
        raise SettingsError(f"SLACK_APP_TOKEN must be an app-level token starting with 'xapp-' "
                            f"(Basic Information > App-Level Tokens, scope connections:write), not "
                            f"'{app_token[:5]}…'. Unset it to use HTTP mode.")
    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    if not app_token and not secret:
        raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode needs the app's Signing Secret "
                            "(Basic Information > App Credentials); or set SLACK_APP_TOKEN for Socket Mode.")
    api_url = env.get("SLACK_API_URL", "").strip() or SLACK_API
    if not api_url.startswith(("http://", "https://")):
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL such as {SLACK_API}, not '{api_url}'.")
    return SlackSettings(bot_token=bot_token, signing_secret=secret, app_token=app_token,
                         api_url=api_url.rstrip("/") + "/")
