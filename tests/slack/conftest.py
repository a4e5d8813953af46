"""The Slack tests' fixture: the real Bolt app on loopback over a private demo farm, and the API stand-in."""

from __future__ import annotations

import pytest

from tests.slack.driver import SlackBot


@pytest.fixture
def bot(state):
    running = SlackBot(state)
    yield running
    running.close()


@pytest.fixture
def hasty(state):
    """The bot with confirmations that expire after half a second."""
    running = SlackBot(state, confirm_timeout=0.5)
    yield running
    running.close()
