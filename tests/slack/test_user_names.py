"""Display names from users.info (the Web API stand-in over HTTP): asked once an hour, bounded, a failure
shown as the raw ID and asked again a minute later."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.slack.user_names import KEEP_SECONDS, RETRY_SECONDS, UserNames
from tests.slack.standin import SlackStandIn


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack():
    standin = SlackStandIn()
    standin.thread.start()
    yield standin
    standin.shutdown()
    standin.server_close()


def asked(slack) -> list[str]:
    return [c.body["user"] for c in slack.of("users.info")]


def test_a_name_is_asked_once_then_again_after_the_hour(slack):
    clock = Clock()
    names = UserNames(WebClient(token="xoxb-test", base_url=slack.url), clock=clock)
    assert names.names(["UOPER", "UVIEWER", "UOPER"]) == {"UOPER": "otto", "UVIEWER": "vera"}
    assert names.name_of("UOPER") == "otto"
    assert asked(slack) == ["UOPER", "UVIEWER"]
    slack.users["UOPER"] = "Otto Renamed"
    clock.now += KEEP_SECONDS - 1
    assert names.name_of("UOPER") == "otto"
    clock.now += 2
    assert names.name_of("UOPER") == "Otto Renamed"
    assert asked(slack) == ["UOPER", "UVIEWER", "UOPER"]


def test_a_failed_lookup_is_left_out_and_asked_again_a_minute_later(slack):
    clock = Clock()
    names = UserNames(WebClient(token="xoxb-test", base_url=slack.url), clock=clock)
    slack.fail_once("users.info", 500, {})
    assert names.name_of("UOPER") is None  # Slack failed
    assert names.name_of("UNOBODY") is None  # Slack does not know them: user_not_found
    assert names.names(["UOPER", "UNOBODY"]) == {}  # not asked again within the minute
    assert len(asked(slack)) == 2
    clock.now += RETRY_SECONDS + 1
    assert names.names(["UOPER", "UNOBODY"]) == {"UOPER": "otto"}
    assert len(asked(slack)) == 4


def test_the_cache_is_bounded_forgetting_the_least_recently_used(slack):
    names = UserNames(WebClient(token="xoxb-test", base_url=slack.url), clock=Clock(), size=2)
    names.name_of("UOPER")
    names.name_of("UVIEWER")
    names.name_of("UOPER")  # used again: UVIEWER is now the oldest
    names.name_of("UADMIN")
    assert asked(slack) == ["UOPER", "UVIEWER", "UADMIN"]
    names.name_of("UOPER")  # still kept
    names.name_of("UVIEWER")  # forgotten: asked again
    assert asked(slack) == ["UOPER", "UVIEWER", "UADMIN", "UVIEWER"]
