"""The Slack tests' fixture: the real Bolt app on loopback over a private demo farm, and the API stand-in."""

from __future__ import annotations

import pytest

from tests.slack.driver import SlackBot


@pytest.fixture
def bot(state):
    running = SlackBot(state)
    yield running
    running.close()
