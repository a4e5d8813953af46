"""The console front end: `granja ask` for one command, `granja chat` for a session."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from bot.completion import Names, complete
from bot.engine import ChatEvent, Engine, Pending
from bot.grammar import BY_NAME
from bot.render_text import render
from bot.results import FindingList, Outcome, Reply

Ask = Callable[[str], str]  # shows a prompt, returns what the user typed

# ANSI colours: by how a command ended, and by how urgent a finding is.
_RED, _YELLOW, _GREEN, _BOLD, _RESET = "\033[31m", "\033[33m", "\033[32m", "\033[1m", "\033[0m"
_BY_OUTCOME = {Outcome.OK: _GREEN, Outcome.REFUSED: _YELLOW, Outcome.USAGE: _YELLOW,
               Outcome.CANCELLED: _YELLOW, Outcome.FAILED: _RED, Outcome.ERROR: _RED}
_URGENT = frozenset({"unreachable", "spread", "resilience", "bond", "memory", "vcpus", "stray"})


def run(engine: Engine, text: str, *, user: str, yes: bool, ask: Ask | None,
        out: Callable[[str], None] = print, colour: bool | None = None) -> Reply:
    """Run one command; a change is confirmed by --yes or by the user at the prompt.

    A destructive change asks for its VM's (or host's) name to be typed, as Slack's dialog does.
    `colour` defaults to on when printing to a terminal and NO_COLOR is not set.
    """
    if colour is None:
        colour = out is print and wants_colour(sys.stdout)
    width = shutil.get_terminal_size().columns
    prepared = engine.prepare(ChatEvent(user=user, text=text, channel="console"))
    if isinstance(prepared, Reply):
        out(paint(prepared, render(prepared, width=width), colour))
        return prepared
    out(f"{_BOLD if colour else ''}About to:{_RESET if colour else ''} {prepared.plan.preview}")
    if yes or (ask is not None and _agrees(ask, prepared)):
        reply = engine.confirm(prepared, by=user, progress=lambda line: out(f"  … {line}"))
    else:
        reason = "not confirmed" if ask is not None else "not confirmed (add --yes to confirm)"
        reply = engine.cancel(prepared, by=user, reason=reason)
    out(paint(reply, render(reply, width=width), colour))
    return reply


def _agrees(ask: Ask, pending: Pending) -> bool:
    plan = pending.plan
    try:
        if plan.destructive:  # as Slack's dialog: type the name, so a slip of the finger is not enough
            name = plan.vm or plan.hosts[0]
            typed = ask(f"This cannot be undone. Type {name} to confirm, anything else cancels: ")
            return typed.strip() == name
        return ask("confirm? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
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
    """0 when the command did what was asked, 2 for a usage error, 1 otherwise."""
    return {Outcome.OK: 0, Outcome.USAGE: 2}.get(reply.outcome, 1)


def names(engine: Engine) -> Names:
    """Where completion finds each kind of name: the inventory's VMs, the farm's hosts, the config's rest."""
    config = engine.config
    return {"vm": engine.inventory.vm_names, "host": lambda: engine.farm.host_names,
            "cluster": lambda: config.clusters, "template": lambda: config.templates,
            "vlan": lambda: [*config.networks, *(str(n.vlan) for n in config.networks.values())],
            "command": lambda: BY_NAME}


def _completer(engine: Engine, readline: object) -> Callable[[str, int], str | None]:
    """A readline completer: the candidates for the line typed so far, one per `state`."""
    sources = names(engine)
    found: list[str] = []

    def completer(text: str, state: int) -> str | None:
        if state == 0:
            line = readline.get_line_buffer()[:readline.get_endidx()]  # type: ignore[attr-defined]
            found[:] = [f"{word} " for word in complete(line, sources)]
        return found[state] if state < len(found) else None

    return completer


def chat(engine: Engine, *, user: str, history: Path) -> int:
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
