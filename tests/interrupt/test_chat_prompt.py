"""`granja chat` on a terminal: Ctrl-C at the prompt drops the line, as in bash, and the session goes on."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time
from typing import IO

from tests.proc_threads import sleeps_in_poll
from tests.signal_routing import send_off_main


def _own_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty, so Ctrl-C is SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A granja process on a pseudo-terminal, read until some text shows (with a deadline)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, stderr: IO[str] | None = None) -> None:
        """`env`: GRANJA_ variables to set; `stderr`: a file for it (so that it outlives a hang-up)."""
        self.master, slave = pty.openpty()
        clean = {k: v for k, v in os.environ.items() if not k.startswith("GRANJA_")}
        self.process = subprocess.Popen([sys.executable, "-m", "granja", *args], stdin=slave, stdout=slave,
                                        stderr=stderr or slave, env={**clean, **(env or {}), "TERM": "dumb"},
                                        preexec_fn=_own_terminal)
        os.close(slave)
        self.seen = ""
        self.open = True

    def until(self, text: str, timeout: float = 30, *, after: int = 0, why: str = "") -> str:
        """Read until `text` shows at or after position `after` of what was seen."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[after:]:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never showed {why}; the terminal shows:\n{self.seen}"
            waiting = select.poll()  # not select(): it fails on descriptors past 1023
            waiting.register(self.master, select.POLLIN)
            if waiting.poll(left * 1000):
                try:
                    self.seen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:  # the process closed the terminal
                    assert text in self.seen, f"{text!r} never showed:\n{self.seen}"
        return self.seen

    def idle(self, timeout: float = 30) -> None:
        """Wait until the chat's main thread sleeps in select() on the terminal, waiting for a key.

        That is when a person presses Ctrl-C. Pressed while readline is still echoing a key, the
        signal can come between readline's check and its next select(), and CPython's readline
        then sees it only at the next key (a window of microseconds for a person, wide for a test).
        """
        pid = self.process.pid
        deadline = time.monotonic() + timeout
        while not sleeps_in_poll(pid, pid):
            assert time.monotonic() < deadline, "the chat never waited for a key"
            select.poll().poll(10)  # look again in 10 ms (the condition above has the deadline)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def hang_up(self) -> None:
        """Close the terminal, as a dropped SSH session does: the kernel sends SIGHUP to the chat."""
        os.close(self.master)
        self.open = False

    def close(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.open:
                os.close(self.master)


def test_ctrl_c_at_the_prompt_clears_the_line_and_the_chat_goes_on(state):
    term = Terminal("--state", str(state), "chat")
    try:
        term.until("granja> ")
        term.type("delete web")  # half a command, then Ctrl-C: nothing runs
        mark = len(term.until("delete web"))
        term.idle()
        # What the terminal does on Ctrl-C: SIGINT to its foreground process group (sent directly, so a
        # loaded machine cannot reorder it with the typed bytes); the kernel may hand it to any thread.
        where = send_off_main(term.process.pid, signal.SIGINT)
        term.until("granja> ", after=mark, why=where)
        before = term.seen
        term.type("where is ldap3\r")
        term.until("ldap3 is on host")
        assert "delete" not in term.seen[len(before):]
        term.type("quit\r")
        assert term.close() == 0
    finally:
        if term.process.poll() is None:
            term.process.kill()
            term.process.wait()
