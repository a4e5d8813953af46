"""The console front end: `granja ask` for one command, `granja chat` for a session."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.engine import ChatEvent, Engine
from bot.render_text import render
from bot.results import Outcome, Reply

Ask = Callable[[str], str]  # shows a prompt, returns what the user typed


def run(engine: Engine, text: str, *, user: str, yes: bool, ask: Ask | None,
        out: Callable[[str], None] = print, account: str = "") -> Reply:
    """Run one command; a change is confirmed by --yes or by the user at the prompt.

    `account`: the OS account at the keyboard when it acts as another `user` (`--as`); the audit
    records both.
    """
    extra = {"os_user": account, "who": f"{account} as {user}"} if account and account != user else {}
    prepared = engine.prepare(ChatEvent(user=user, text=text, channel="console", extra=extra))
    if isinstance(prepared, Reply):
        out(render(prepared))
        return prepared
    out(f"About to: {prepared.plan.preview}")
    if yes or (ask is not None and _agrees(ask)):
        with stopping_on_signals(engine, out, signal.SIGINT):
            reply = engine.confirm(prepared, by=user, progress=lambda line: out(f"  … {line}"))
    else:
        reason = "not confirmed" if ask is not None else "not confirmed (add --yes to confirm)"
        reply = engine.cancel(prepared, by=user, reason=reason)
    out(render(reply))
    return reply


def _agrees(ask: Ask) -> bool:
    try:
        return ask("confirm? [y/N] ").strip().lower() in ("y", "yes")
    except (EOFError, KeyboardInterrupt):  # Ctrl-C at the question is a no
        print()
        return False


@contextlib.contextmanager
def stopping_on_signals(engine: Engine, out: Callable[[str], None], *signals: int) -> Iterator[None]:
    """While a change runs, the first signal asks it to stop after its current step.

    Later signals say what it still waits for. Outside the main thread (no signals there) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: object) -> None:
        if not engine.stopping.is_set():
            engine.stopping.set()
            out("  … stopping: the step in progress finishes (or is undone); no further step starts.")
            return
        doing = "; ".join(engine.waiting_for()) or "the change to wind down"
        out(f"  … still stopping, waiting for: {doing}")

    previous = {number: signal.signal(number, handle) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def exit_code(reply: Reply) -> int:
    """0 when the command did what was asked, 2 for a usage error, 4 when interrupted, 1 otherwise."""
    return {Outcome.OK: 0, Outcome.USAGE: 2, Outcome.INTERRUPTED: 4}.get(reply.outcome, 1)


def chat(engine: Engine, *, user: str, history: Path, account: str = "") -> int:
    """An interactive prompt with line editing and history; 'quit' or Ctrl-D leaves."""
    try:
        import readline

        history.parent.mkdir(parents=True, exist_ok=True)
        if history.exists():
            readline.read_history_file(history)
    except (ImportError, OSError):
        readline = None  # type: ignore[assignment]
    print(f"granja chat on {engine.config.name} as {user}. Type 'help', or 'quit' to leave.")
    code = 0
    try:
        while True:
            try:
                line = input("granja> ").strip()
            except EOFError:
                print()
                break
            except KeyboardInterrupt:  # as in bash: drop the line, show a fresh prompt
                print()
                continue
            if line in ("quit", "exit"):
                break
            if line:
                reply = run(engine, line, user=user, yes=False, ask=input, account=account)
                if engine.stopping.is_set():  # Ctrl-C stopped a change: the session goes on
                    engine.stopping.clear()
                    code = 4 if reply.outcome is Outcome.INTERRUPTED else code
    finally:
        if readline is not None:
            readline.write_history_file(history)
    return code


def interactive() -> bool:
    """Whether a person is at the terminal to answer a confirmation prompt."""
    return sys.stdin.isatty()
