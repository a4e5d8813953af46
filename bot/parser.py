"""Chat text to a Command, using the declarations in `grammar`; no I/O, nothing but text.

`parse("migrate imap2 to host07")` gives `Command("migrate", {"vm": "imap2",
"host": "host07"})`. Text that matches no form raises ParseError with the
usage of the nearest command, so a user always learns the right shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from rapidfuzz import fuzz, process

from bot.grammar import BY_NAME, COMMANDS, CommandSpec, slot

# Chat clients "improve" typing: curly quotes, long dashes, non-breaking spaces.
_REPLACEMENTS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2013": "-", "\u2014": "--", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
})


@dataclass(frozen=True)
class Command:
    """A parsed chat command: which one, and its arguments by name."""

    name: str
    args: Mapping[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> CommandSpec:
        """The command's declaration."""
        return BY_NAME[self.name]

    def canonical(self) -> str:
        """The command written back in its first form that takes exactly these arguments."""
        for form in self.spec.forms:
            names = {slot(w)[0] for w in form.split() if w.startswith("{")}
            if names == set(self.args):
                return " ".join(self.args[slot(w)[0]] if w.startswith("{") else w for w in form.split())
        return self.name


class ParseError(ValueError):
    """Text that is not a command; the message says what to type instead."""

    def __init__(self, message: str, *, nearest: str = "") -> None:
        self.nearest = nearest
        super().__init__(message)


# A VM's lock file is NAME.lock, its disk images NAME-….img: each file name at most 255 bytes (NAME_MAX).
MAX_NAME = 200


def normalize(text: str) -> str:
    """Undo chat clients' typography and squeeze white space."""
    return " ".join(text.translate(_REPLACEMENTS).split())


def parse(text: str) -> Command:
    """Turn one line of chat into a Command, or raise ParseError."""
    clean = normalize(text).strip("\"'")
    if not clean:
        raise ParseError("Say a command, for example 'where is ldap3'. Try 'help'.")
    for spec in COMMANDS:
        for form in spec.forms:
            match = _compiled(form).fullmatch(clean)
            if match:
                args = {k: v for k, v in match.groupdict().items() if v}
                longest = max((len(v) for v in args.values()), default=0)
                if longest > MAX_NAME:
                    raise ParseError(f"That name is {longest} characters long; names can be at most "
                                     f"{MAX_NAME} (libvirt's files and granja's locks are named after them).")
                return Command(spec.name, args)
    raise _explain(clean)


def _explain(clean: str) -> ParseError:
    first = clean.split()[0].lower()
    owners = [s for s in COMMANDS if any(f.split()[0] == first for f in s.forms)]
    if owners:
        spec = owners[0]
        return ParseError(f"Usage: {spec.usage}. For example: {spec.examples[0]}", nearest=spec.name)
    verbs = sorted({form.split()[0] for spec in COMMANDS for form in spec.forms})
    guess = process.extractOne(first, verbs, scorer=fuzz.ratio, score_cutoff=70)
    if guess:
        spec = next(s for s in COMMANDS if any(f.split()[0] == guess[0] for f in s.forms))
        return ParseError(f"I don't know '{first}'. Did you mean '{guess[0]}'? Usage: {spec.usage}",
                          nearest=spec.name)
    return ParseError(f"I don't know '{first}'. Try 'help' for the commands you may run.")


_NAME = r"[A-Za-z0-9_.:-]+"


@cache
def _compiled(form: str) -> re.Pattern[str]:
    parts = []
    for word in form.split():
        if word.startswith("{"):
            name, choices, many = slot(word)
            value = "|".join(map(re.escape, choices.split("|"))) if choices else _NAME
            if many:
                value = rf"{value}(?:[\s,]+{value})*"
            parts.append(f"(?P<{name}>{value})")
        else:
            parts.append(re.escape(word))
    return re.compile(r"\s+".join(parts), re.IGNORECASE)
