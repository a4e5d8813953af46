"""Two granja processes with previews on one host, confirmed at one moment: one runs, one is told why not."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from granja.app import open_engine
from tests.farm_ops.helpers import live_vms, spread_and_capacity_problems


class ChatProcess:
    """`granja chat` in its own process, talked to through pipes as a person would at the prompt."""

    def __init__(self, state: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "granja", "--state", str(state), "chat", "--as", "root"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.output = b""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := os.read(self.process.stdout.fileno(), 4096):
            with self._changed:
                self.output += chunk
                self._changed.notify_all()

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    def wait_for(self, marker: str, *, count: int = 1, seconds: float = 60) -> None:
        """Wait until the output holds `marker` `count` times; fail with the output after the deadline."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while self.text.count(marker) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"no {marker!r} (x{count}) in:\n{self.text}"
                self._changed.wait(left)

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.say("quit")
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(10)  # it ends at the end of the output
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


@pytest.mark.parametrize("pair", [("migrate ldap1", "migrate ldap2"), ("create ldap6", "create ldap7")],
                         ids=["migrate", "create"])
def test_two_processes_confirming_at_once_keep_the_cluster_apart(state, pair):
    chats = [ChatProcess(state), ChatProcess(state)]
    try:
        for chat, text in zip(chats, pair, strict=True):
            chat.wait_for("granja> ")
            chat.say(text)
            chat.wait_for("confirm? [y/N] ")
        previews = [chat.text.split("About to: ", 1)[1] for chat in chats]
        hosts = {re.search(r"(?:→|on) (host\d+)", preview).group(1) for preview in previews}
        assert len(hosts) == 1, previews  # both previews chose the same host
        for chat in chats:  # both at once
            chat.say("y")
        for chat in chats:
            chat.wait_for("granja> ", count=2)
    finally:
        for chat in chats:
            chat.close()
    results = [chat.text.split("confirm? [y/N] ", 1)[1] for chat in chats]
    done = [r for r in results if " moved from " in r or " created on " in r]
    refused = [r for r in results if r.startswith(("Nothing was done: since the preview",))
               or " is busy: root is running " in r]
    assert len(done) == 1, results
    assert len(refused) == 1, results
    engine = open_engine(config=None, state=str(state))
    assert spread_and_capacity_problems(engine) == []
    vms = live_vms(engine)
    assert sum(1 for text in pair if vms.get(text.split()[1]) and vms[text.split()[1]].host in hosts) == 1
