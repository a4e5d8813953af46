"""A real terminal for the console front end: granja runs in a private tmux server, keys are typed into it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


class Terminal:
    """`granja chat` in a tmux pane: type keys, read the screen as the user sees it."""

    def __init__(self, tmp: Path, state: Path, *, env: dict[str, str] | None = None,
                 width: int = 120, command: list[str] | None = None, timeout: float = 30) -> None:
        self.socket = str(tmp / "tmux.sock")
        environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TMUX", "INPUTRC")}
        environment.update({"TERM": "xterm-256color", "HOME": str(tmp), **(env or {})})
        command = command or [sys.executable, "-m", "granja", "--state", str(state), "chat"]
        env_words = [f"{k}={v}" for k, v in (env or {}).items()]
        subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", str(width),
                        "-y", "50", "env", *env_words, *command], check=True, env=environment, timeout=30)
        self.wait_for(lambda screen: "granja> " in screen, what="the first prompt", timeout=timeout)

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this terminal's server; its output."""
        done = subprocess.run(["tmux", "-S", self.socket, *args], check=True, capture_output=True, text=True,
                              timeout=30)
        return done.stdout

    def type(self, text: str, *keys: str) -> None:
        """Type text literally, then named keys (Tab, Enter)."""
        if text:
            self.tmux("send-keys", "-l", text)
        if keys:
            self.tmux("send-keys", *keys)

    def screen(self, *, escapes: bool = False) -> str:
        """What the pane shows now (with the colour escapes when asked)."""
        return self.tmux("capture-pane", "-p", "-J", *(["-e"] if escapes else []), "-S", "-200")

    def wait_for(self, ready: Callable[[str], bool], *, what: str, escapes: bool = False,
                 timeout: float = 30) -> str:
        """The screen once `ready` holds for it; fails with the screen after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(escapes=escapes)
            if ready(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen}")
            time.sleep(0.05)  # polling the screen for a condition, with a deadline

    def ask(self, line: str, *, until: str = "granja> ") -> str:
        """Type a line and Enter; the screen once the answer is printed and the next `until` prompt shows."""
        before = self.screen().count(until)
        self.type(line, "Enter")
        return self.wait_for(lambda s: s.count(until) > before, what=f"the answer to {line!r}")

    def close(self) -> None:
        """Stop this terminal's own tmux server (and granja in it)."""
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=30)
