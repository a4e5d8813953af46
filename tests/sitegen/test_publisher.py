"""Republishing after changes: debounced, in the background, and wired to the bot's engine."""

from __future__ import annotations

import logging
import threading

from bot.results import Outcome
from granja.app import open_engine
from sitegen.publisher import Publisher
from tests.conftest import Chat
from tests.sitegen.test_site import row_of


class Builds:
    """A build that records each run and can be held until released."""

    def __init__(self, *, fail: bool = False) -> None:
        self.runs = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self) -> None:
        self.runs += 1
        self.started.set()
        self.release.wait(30)
        if self.fail:
            raise RuntimeError("mkdocs exploded")


def test_a_burst_of_changes_gives_one_build_and_requests_never_wait_for_it():
    builds = Builds()
    publisher = Publisher(builds, delay=0.05)
    for _ in range(5):
        publisher.request()  # returns at once, although no build can finish until released
    assert builds.started.wait(10)
    assert builds.runs == 1
    builds.release.set()
    assert publisher.wait(10)
    assert (builds.runs, publisher.builds) == (1, 1)


def test_a_change_during_a_build_gives_one_more_build():
    builds = Builds()
    publisher = Publisher(builds, delay=0.01)
    publisher.request()
    assert builds.started.wait(10)
    publisher.request()  # the running build may have read the inventory before this change
    publisher.request()
    builds.release.set()
    assert publisher.wait(10)
    assert builds.runs == 2


def test_a_failed_build_is_logged_and_the_next_change_still_publishes(caplog):
    builds = Builds(fail=True)
    builds.release.set()
    publisher = Publisher(builds, delay=0.01)
    with caplog.at_level(logging.ERROR):
        publisher.request()
        assert publisher.wait(10)
    assert "republishing the site failed" in caplog.text
    builds.fail = False
    publisher.request()
    assert publisher.wait(10)
    assert builds.runs == 2


def test_the_bot_republishes_the_configured_site_after_a_confirmed_change(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text() + '\n[site]\nout = "published"\n')
    engine = open_engine(config=str(config), state=str(state))
    publisher = engine.on_change.__self__
    assert isinstance(publisher, Publisher)
    publisher.delay = 0.05  # the bot waits 2 s for a burst of changes to end; a test need not
    chat = Chat(engine)
    source = engine.inventory.vm("imap2").vm.host
    reply = chat.send("migrate imap2")  # granja picks the host
    assert reply.outcome is Outcome.OK, chat.transcript
    target = engine.inventory.vm("imap2").vm.host
    assert target != source
    assert publisher.wait(60)
    page = (config.parent / "published" / "vms" / "imap2.html").read_text()
    assert row_of(page, "Host")[1] == target
    chat.send("where is imap2")  # a question changes nothing: no build is asked for
    assert publisher.wait(60)
    assert publisher.builds == 1
