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

from bot.grammar import BY_NAME, COMMANDS, READ_WORDS, CommandSpec, slot

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
    first, _, rest = clean.partition(" ")
    owner = ALIASES.get(first.lower())
    if owner is not None:  # `ls` is `list`, `status` is `show`
        clean = f"{owner.forms[0].split()[0]} {rest}".strip()
    for spec in COMMANDS:
        for form in spec.forms:
            match = _compiled(form, spec.synonyms).fullmatch(clean)
            if match and not _keyword_as_name(spec, match):
                said = dict(spec.synonyms)
                args = {k: said.get(" ".join(v.lower().split()), v)
                        for k, v in match.groupdict().items() if v}
                longest = max((len(v) for v in args.values()), default=0)
                if longest > MAX_NAME:
                    raise ParseError(f"That name is {longest} characters long; names can be at most "
                                     f"{MAX_NAME} (libvirt's files and granja's locks are named after them).")
                return Command(spec.name, args)
    raise _explain(clean)


def _keyword_as_name(spec: CommandSpec, match: re.Match[str]) -> bool:
    """Whether a pattern took one of the command's own words as a name (`list on` is not a VM named 'on')."""
    return match.groupdict().get("pattern", "").lower() in _keywords(spec)


@cache
def _keywords(spec: CommandSpec) -> frozenset[str]:
    return frozenset(w for form in spec.forms for w in form.split()[1:] if not w.startswith("{"))


def verbs() -> dict[str, CommandSpec]:
    """Every word a command can begin with, aliases included, and the command it begins."""
    words = {form.split()[0]: spec for spec in COMMANDS for form in spec.forms}
    return {**words, **ALIASES}


ALIASES: dict[str, CommandSpec] = {alias: spec for spec in COMMANDS for alias in spec.aliases}


def _explain(clean: str) -> ParseError:
    first = clean.split()[0].lower()
    owners = [s for s in COMMANDS if any(f.split()[0] == first for f in s.forms)]
    if owners:
        spec = owners[0]
        return ParseError(f"Usage: {spec.usage}. For example: {spec.examples[0]}", nearest=spec.name)
    guess = _guess(first)
    if guess is not None:
        return ParseError(f"I don't know '{first}'. Did you mean '{guess.name}'? Usage: {guess.usage}",
                          nearest=guess.name)
    return ParseError(f"I don't know '{first}'. Try 'help' for the commands you may run.")


def _guess(word: str) -> CommandSpec | None:
    """The command a mistyped first word most likely meant.

    A command that changes the farm is never offered for a word close to a way of asking
    (`stat`, `state`): a read-only question gets a read-only suggestion.
    """
    from rapidfuzz import fuzz, process  # only when the text is not a command: a fast start for the rest

    words = verbs()
    guess = process.extractOne(word, list(words), scorer=fuzz.ratio, score_cutoff=70)
    if guess is None:
        return None
    spec = words[guess[0]]
    if spec.changes and process.extractOne(word, READ_WORDS, scorer=fuzz.ratio, score_cutoff=90):
        readers = {w: s for w, s in words.items() if not s.changes}
        safe = process.extractOne(word, list(readers), scorer=fuzz.ratio, score_cutoff=50)
        return readers[safe[0]] if safe else None
    return spec


_NAME = r"[A-Za-z0-9_.:-]+"
_PATTERN = r"[A-Za-z0-9_.:*?\[\]-]+"  # a name, or a shell-style pattern of names: web*, ldap[12]


@cache
def _compiled(form: str, synonyms: tuple[tuple[str, str], ...] = ()) -> re.Pattern[str]:
    parts = []
    for word in form.split():
        if word.startswith("{"):
            name, choices, many = slot(word)
            words = choices.split("|") if choices else []
            words += [said for said, meant in synonyms if meant in words]
            longest_first = sorted(words, key=len, reverse=True)
            value = ("|".join(re.escape(w).replace(r"\ ", r"\s+") for w in longest_first)
                     if words else _PATTERN if name == "pattern" else _NAME)
            if many:
                value = rf"{value}(?:[\s,]+{value})*"
            parts.append(f"(?P<{name}>{value})")
        else:
            said = [re.escape(s) for s, meant in synonyms if meant == word]
            parts.append(f"(?:{'|'.join([re.escape(word), *said])})")
    return re.compile(r"\s+".join(parts), re.IGNORECASE)
