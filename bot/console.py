"""The console front end: `granja ask` for one command, `granja chat` for a session."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bot import exit_codes
from bot.engine import ChatEvent, Engine
from bot.render_text import render
from bot.results import Reply

Ask = Callable[[str], str]  # shows a prompt, returns what the user typed


def run(engine: Engine, text: str, *, user: str, yes: bool, ask: Ask | None,
        out: Callable[[str], None] = print, show: Callable[[Reply], str] = render,
        note: Callable[[str], None] | None = None) -> Reply:
    """Run one command; a change is confirmed by --yes or by the user at the prompt.

    The reply goes to `out` as `show` writes it (text, or JSON for scripts); the preview and
    progress lines go to `note` (default: `out`).
    """
    note = note or out
    prepared = engine.prepare(ChatEvent(user=user, text=text, channel="console"))
    if isinstance(prepared, Reply):
        out(show(prepared))
        return prepared
    note(f"About to: {prepared.plan.preview}")
    if yes or (ask is not None and _agrees(ask)):
        reply = engine.confirm(prepared, by=user, progress=lambda line: note(f"  … {line}"))
    else:
        reason = "not confirmed" if ask is not None else "not confirmed (add --yes to confirm)"
        reply = engine.cancel(prepared, by=user, reason=reason)
    out(show(reply))
    return reply


def _agrees(ask: Ask) -> bool:
    try:
        return ask("confirm? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def exit_code(reply: Reply) -> int:
    """The process exit code for a reply (the table is in bot/exit_codes.py and the README)."""
    return exit_codes.exit_code(reply)


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
