"""A watcher over a private copy of the demo farm, polled by hand under a clock the test moves."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from bot.engine import Engine
from bot.watch.tracker import Transition
from bot.watch.watcher import Watcher, WatchSettings
from granja.watching import build_watcher
from tests.slack.driver import SlackBot

ALERTS = "CALERTS"


@dataclass
class Clock:
    """Seconds since the epoch, moved only by the test."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Seen:
    """Every transition the watcher handed out, in order."""

    transitions: list[Transition] = field(default_factory=list)

    def alert(self, transition: Transition) -> None:
        self.transitions.append(transition)

    def of(self, what: str, kind: str | None = None) -> list[Transition]:
        return [t for t in self.transitions
                if t.what == what and (kind is None or t.alert.condition.kind == kind)]


@dataclass
class Watched:
    """A demo-farm watcher with its clock and what it reported."""

    watcher: Watcher
    clock: Clock
    seen: Seen
    engine: Engine

    def after(self, seconds: float) -> list[Transition]:
        """Poll the hosts, let `seconds` pass, evaluate; the transitions of that evaluation."""
        self.watcher.poll()
        self.watcher.evaluate()
        self.clock.advance(seconds)
        return self.watcher.evaluate()


@pytest.fixture
def watched(engine) -> Watched:
    clock, seen = Clock(), Seen()
    engine.clock = lambda: datetime.fromtimestamp(clock.now, UTC)  # the audit's time is the watcher's
    watcher = build_watcher(engine, sinks=[seen], settings=WatchSettings(events=False), clock=clock)
    watcher.rules = watcher.tracker.rules = replace(watcher.rules, hold={**watcher.rules.hold})
    watcher.poll(first=True)
    watcher.evaluate()
    clock.advance(3600)  # whatever the demo farm holds from the start has fired by now
    watcher.evaluate()
    seen.transitions.clear()
    return Watched(watcher, clock, seen, engine)


@pytest.fixture
def alerting(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text() + f'\n[alerts]\nchannel = "{ALERTS}"\nmin_severity = "warning"\n'
                      f'[channels.{ALERTS}]\nrole = "admin"\n')
    clock = Clock()

    def watcher(engine):
        engine.clock = lambda: datetime.fromtimestamp(clock.now, UTC)
        made = build_watcher(engine, settings=WatchSettings(events=False), clock=clock)
        made.poll(first=True)
        return made

    bot = SlackBot(state, watcher=watcher)
    bot.clock = clock
    yield bot
    bot.close()
