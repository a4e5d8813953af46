"""`granja slack` at start: an unreachable Slack Web API is named as such, not blamed on the token."""

from __future__ import annotations

import time

from tests.slack.driver import SECRET
from tests.slack.test_cli import free_port, granja_slack


def test_an_unreachable_slack_api_is_named_at_start(state):
    api = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    env = {"SLACK_BOT_TOKEN": "xoxb-fine", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api}
    begun = time.monotonic()
    process = granja_slack(state, env, "--port", str(free_port()))
    out, err = process.communicate(timeout=90)
    assert process.returncode == 2
    assert err.startswith(f"granja slack: cannot reach Slack's Web API at {api}: "), err
    assert "Connection refused" in err
    assert "SLACK_BOT_TOKEN" not in err
    assert "Traceback" not in err
    assert time.monotonic() - begun < 60
