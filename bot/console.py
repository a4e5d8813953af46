"""The console front end: `granja ask` for one command, `granja chat` for a session."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bot.engine import ChatEvent, Engine
from bot.render_text import render
from bot.results import FindingList, Outcome, Reply

Ask = Callable[[str], str]  # shows a prompt, returns what the user typed


def run(engine: Engine, text: str, *, user: str, yes: bool, ask: Ask | None,
        out: Callable[[str], None] = print) -> Reply:
    """Run one command; a change is confirmed by --yes or by the user at the prompt."""
    prepared = engine.prepare(ChatEvent(user=user, text=text, channel="console"))
    if isinstance(prepared, Reply):
        out(render(prepared))
        return prepared
    out(f"About to: {prepared.plan.preview}")
    if yes or (ask is not None and _agrees(ask)):
        reply = engine.confirm(prepared, by=user, progress=lambda line: out(f"  … {line}"))
    else:
        reason = "not confirmed" if ask is not None else "not confirmed (add --yes to confirm)"
        reply = engine.cancel(prepared, by=user, reason=reason)
    out(render(reply))
    return reply


def _agrees(ask: Ask) -> bool:
    try:
        return ask("confirm? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def exit_code(reply: Reply) -> int:
    """0 when the command did what was asked, 2 for a usage error, 1 otherwise.

    `check` answers as a Nagios plugin does: 0 nothing to report, 1 warnings, 2 something critical.
    """
    if reply.outcome is Outcome.OK and isinstance(reply.body, FindingList):
        return reply.body.nagios
    return {Outcome.OK: 0, Outcome.USAGE: 2}.get(reply.outcome, 1)


def chat(engine: Engine, *, user: str, history: Path) -> int:
    """An interactive prompt with line editing and history; 'quit' or Ctrl-D leaves."""
    try:
        import readline

        history.parent.mkdir(parents=True, exist_ok=True)
        if history.exists():
            readline.read_history_file(history)
    except (ImportError, OSError):
        readline = None  # type: ignore[assignment]
    print(f"granja chat on {engine.config.name} as {user}. Type 'help', or 'quit' to leave.")
    try:
        while True:
            try:
                line = input("granja> ").strip()
            except EOFError:
                print()
                break
            if line in ("quit", "exit"):
                break
            if line:
                run(engine, line, user=user, yes=False, ask=input)
    except KeyboardInterrupt:
        print()
    finally:
        if readline is not None:
            readline.write_history_file(history)
    return 0


def interactive() -> bool:
    """Whether a person is at the terminal to answer a confirmation prompt."""
    return sys.stdin.isatty()
