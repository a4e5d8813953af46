"""The console front end: `granja ask` for one command, `granja chat` for a session."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot import exit_codes
from bot.console_signals import ENDING, Ended, ending_on_signals, stopping_on_signals, surviving
from bot.engine import ChatEvent, Engine, Pending
from bot.grammar import BY_NAME
from bot.render_text import render
from bot.reply import FindingList, Outcome, Reply
from bot.terminal import terminal_width

if TYPE_CHECKING:
    from bot.completion import Names

Ask = Callable[[str], str]  # shows a prompt, returns what the user typed
_say = surviving(print)  # the chat's own lines: a terminal that hung up is written to no more

# ANSI colours: by how a command ended, and by how urgent a finding is.
_RED, _YELLOW, _GREEN, _BOLD, _RESET = "\033[31m", "\033[33m", "\033[32m", "\033[1m", "\033[0m"
_BY_OUTCOME = {Outcome.OK: _GREEN, Outcome.REFUSED: _YELLOW, Outcome.USAGE: _YELLOW,
               Outcome.CANCELLED: _YELLOW, Outcome.FAILED: _RED, Outcome.ERROR: _RED,
               Outcome.INTERRUPTED: _YELLOW}
_URGENT = frozenset({"unreachable", "spread", "resilience", "bond", "memory", "vcpus", "stray"})


def run(engine: Engine, text: str, *, user: str, yes: bool, ask: Ask | None,
        out: Callable[[str], None] = print, account: str = "", show: Callable[[Reply], str] | None = None,
        note: Callable[[str], None] | None = None, colour: bool | None = None,
        heard: list[int] | None = None) -> Reply:
    """Run one command; a change is confirmed by --yes or by the user at the prompt.

    The reply goes to `out` as `show` writes it (default: text for people, coloured at a terminal
    unless NO_COLOR is set; JSON for scripts); the preview and progress lines go to `note`
    (default: `out`). A destructive change asks for its VM's (or host's) name to be typed, as
    Slack's dialog does. `account`: the OS account at the keyboard when it acts as another `user`
    (`--as`); the audit records both. SIGINT, SIGTERM or SIGHUP while a confirmed change runs stops
    it after its current step (each signal is added to `heard`); a terminal that hung up meanwhile
    is written to no more.
    """
    if colour is None:
        colour = out is print and show is None and wants_colour(sys.stdout)
    out = surviving(out)
    note = surviving(note) if note is not None else out
    width = terminal_width()

    def shown(reply: Reply) -> str:
        return show(reply) if show is not None else paint(reply, render(reply, width=width), colour)

    extra = {"os_user": account, "who": f"{account} as {user}"} if account and account != user else {}
    prepared = engine.prepare(ChatEvent(user=user, text=text, channel="console", extra=extra))
    if isinstance(prepared, Reply):
        out(shown(prepared))
        return prepared
    note(f"{_BOLD if colour else ''}About to:{_RESET if colour else ''} {prepared.plan.preview}")
    try:
        agreed = yes or (ask is not None and _agrees(ask, prepared))
    except Ended as ended:  # SIGTERM or SIGHUP at the question: a no, and the session ends
        engine.cancel(prepared, by=user, reason=f"not confirmed ({ended.signal.name})")
        raise
    if agreed:
        with stopping_on_signals(engine, note, heard):  # until the summary is out
            reply = engine.confirm(prepared, by=user, progress=lambda line: note(f"  … {line}"))
            out(shown(reply))
        return reply
    reason = "not confirmed" if ask is not None else "not confirmed (add --yes to confirm)"
    reply = engine.cancel(prepared, by=user, reason=reason)
    out(shown(reply))
    return reply


def _agrees(ask: Ask, pending: Pending) -> bool:
    plan = pending.plan
    try:
        if plan.destructive:  # as Slack's dialog: type the name, so a slip of the finger is not enough
            name = plan.vm or plan.hosts[0]
            typed = ask(f"This cannot be undone. Type {name} to confirm, anything else cancels: ")
            return typed.strip() == name
        return ask("confirm? [y/N] ").strip().lower() in ("y", "yes")
    except (EOFError, KeyboardInterrupt):  # Ctrl-C at the question is a no
        _say("")
        return False


def wants_colour(stream: object) -> bool:
    """Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return not os.environ.get("NO_COLOR") and callable(isatty) and bool(isatty())


def paint(reply: Reply, text: str, colour: bool) -> str:
    """The rendered reply with its first line coloured by outcome and urgent findings in red."""
    if not colour or not text:
        return text
    lines = text.split("\n")
    lines[0] = f"{_BY_OUTCOME.get(reply.outcome, '')}{lines[0]}{_RESET}"
    if isinstance(reply.body, FindingList) and reply.body.findings:  # rows follow the count and header
        for i, finding in enumerate(reply.body.findings, start=2):
            if i < len(lines):
                tint = _RED if finding.kind in _URGENT else _YELLOW
                lines[i] = f"{tint}{lines[i]}{_RESET}"
    return "\n".join(lines)


def exit_code(reply: Reply) -> int:
    """The process exit code for a reply (the table is in bot/exit_codes.py and the README)."""
    return exit_codes.exit_code(reply)


def names(engine: Engine) -> Names:
    """Where completion finds each kind of name: the inventory's VMs, the farm's hosts, the config's rest."""
    config = engine.config
    return {"vm": engine.inventory.vm_names, "host": lambda: engine.farm.host_names,
            "cluster": lambda: config.clusters, "template": lambda: config.templates,
            "vlan": lambda: [*config.networks, *(str(n.vlan) for n in config.networks.values())],
            "command": lambda: BY_NAME}


def _completer(engine: Engine, readline: object) -> Callable[[str, int], str | None]:
    """A readline completer: the candidates for the line typed so far, one per `state`."""
    from bot.completion import complete  # the chat's alone: `granja ask` never completes

    sources = names(engine)
    found: list[str] = []

    def completer(text: str, state: int) -> str | None:
        if state == 0:
            line = readline.get_line_buffer()[:readline.get_endidx()]  # type: ignore[attr-defined]
            found[:] = [f"{word} " for word in complete(line, sources)]
        return found[state] if state < len(found) else None

    return completer


def chat(engine: Engine, *, user: str, history: Path, account: str = "") -> int:
    """An interactive prompt with line editing, history and tab completion; 'quit' or Ctrl-D leaves."""
    try:
        import readline

        history.parent.mkdir(parents=True, exist_ok=True)
        if history.exists():
            readline.read_history_file(history)
        readline.set_completer_delims(" \t\n,")
        readline.set_completer(_completer(engine, readline))
        binding = "bind ^I rl_complete" if "libedit" in (readline.__doc__ or "") else "tab: complete"
        readline.parse_and_bind(binding)
    except (ImportError, OSError):
        readline = None  # type: ignore[assignment]
    _say(f"granja chat on {engine.config.name} as {user}. Type 'help', or 'quit' to leave.")
    code = 0
    try:
        with ending_on_signals():
            try:
                code = _converse(engine, user=user, account=account)
            except Ended as ended:  # SIGTERM or SIGHUP with no change running
                _say(f"\ngranja: {ended.signal.name}: the chat ends.")
                code = exit_codes.INTERRUPTED
    finally:
        if readline is not None:
            readline.write_history_file(history)
    return code


def _converse(engine: Engine, *, user: str, account: str) -> int:
    """The chat's loop, until 'quit', Ctrl-D, or a SIGTERM/SIGHUP that stopped a change; the exit code."""
    code = 0
    while True:
        try:
            line = input("granja> ").strip()
        except EOFError:  # Ctrl-D, or the terminal hung up
            _say("")
            return code
        except KeyboardInterrupt:  # as in bash: drop the line, show a fresh prompt
            _say("")
            continue
        if line in ("quit", "exit"):
            return code
        if not line:
            continue
        heard: list[int] = []
        reply = run(engine, line, user=user, yes=False, ask=input, account=account, heard=heard)
        if engine.stopping.is_set():  # Ctrl-C stopped a change: the session goes on
            engine.stopping.clear()
            code = exit_codes.INTERRUPTED if reply.outcome is Outcome.INTERRUPTED else code
        ending = next((signal.Signals(n) for n in heard if n in ENDING), None)
        if ending is not None:  # SIGTERM or SIGHUP: the change has settled, the chat ends
            _say(f"granja: {ending.name}: the chat ends.")
            return exit_codes.INTERRUPTED


def interactive() -> bool:
    """Whether a person is at the terminal to answer a confirmation prompt."""
    return sys.stdin.isatty()
