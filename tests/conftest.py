"""Shared fixtures: a fresh copy of the demo farm per test, and a chat driven through the console."""

from __future__ import annotations

import getpass
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import console
from bot.engine import Engine
from bot.results import Reply
from granja.app import open_engine

# The demo farm publishes its site after every change; tests ask for that where they check it.
os.environ["GRANJA_DEMO_SITE"] = ""


@pytest.fixture(scope="session")
def pristine_demo(tmp_path_factory) -> Path:
    """The demo farm's state folder as granja first makes it (generated once per session)."""
    state = tmp_path_factory.mktemp("pristine") / "state"
    open_engine(config=None, state=str(state))
    return state


@pytest.fixture
def state(tmp_path, pristine_demo) -> Path:
    """A private copy of the demo farm's state, node files and inventory included."""
    copy = tmp_path / "state"
    shutil.copytree(pristine_demo, copy)
    # The demo config names node files by absolute path: point it at this copy.
    config = copy / "demo" / "farm.toml"
    config.write_text(config.read_text().replace(str(pristine_demo), str(copy)))
    return copy


class Chat:
    """Talk to granja as a user would, through the console front end (errbot's test backend idea)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.user = getpass.getuser()
        self.transcript = ""

    def send(self, text: str, *, user: str | None = None, confirm: bool = True) -> Reply:
        lines: list[str] = []
        reply = console.run(self.engine, text, user=user or self.user, yes=confirm, ask=None,
                            out=lines.append)
        self.transcript = "\n".join(lines)
        return reply


@pytest.fixture
def engine(state) -> Iterator[Engine]:
    engine = open_engine(config=None, state=str(state))
    yield engine
    engine.close()


@pytest.fixture
def chat(engine) -> Chat:
    return Chat(engine)
