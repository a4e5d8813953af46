"""Tab completion for the chat: the next word a command's forms allow, from the grammar and the farm's names.

`complete("migrate imap2 to ho", names)` offers the hosts beginning with "ho".
Nothing here reads a terminal; the console wires it to readline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from bot.grammar import slot
from bot.parser import verbs

# A slot's name -> the names it takes (VMs, hosts, clusters, templates, networks...), read when asked.
Names = Mapping[str, Callable[[], Iterable[str]]]


def complete(line: str, names: Names) -> list[str]:
    """Every word that may come next after `line` (whose last word is being typed), sorted."""
    words = line.split()
    typing = "" if not words or line[-1:].isspace() else words.pop()
    if not words:
        offered: set[str] = set(verbs())
    else:
        spec = verbs().get(words[0].lower())
        if spec is None:
            return []
        offered = set()
        synonyms = dict(spec.synonyms)
        typed = [synonyms.get(w.lower(), w) for w in words[1:]]
        keywords = {w for form in spec.forms for w in form.split()[1:] if not w.startswith("{")}
        for form in spec.forms:
            offered.update(_next(form.split()[1:], typed, names, keywords))
    return sorted(w for w in offered if w.lower().startswith(typing.lower()))


def _next(form: Sequence[str], typed: Sequence[str], names: Names, keywords: set[str]) -> set[str]:
    """The words `form` allows after the words already `typed` (empty when `typed` leaves it)."""
    if not form:
        return set()
    word, rest = form[0], form[1:]
    if not typed:
        return _choices(word, names)
    if not _fits(word, typed[0], keywords):
        return set()
    after = _next(rest, typed[1:], names, keywords)
    if word.startswith("{") and slot(word)[2]:  # several names: another one may follow
        after |= _choices(word, names)
    return after


def _fits(word: str, typed: str, keywords: set[str]) -> bool:
    """Whether a typed word can be the form's word; a name is never one of the command's own words."""
    if not word.startswith("{"):
        return word.lower() == typed.lower()
    choices = slot(word)[1]
    return typed.lower() in choices.split("|") if choices else typed.lower() not in keywords


def _choices(word: str, names: Names) -> set[str]:
    if not word.startswith("{"):
        return {word}
    name, choices, _many = slot(word)
    if choices:
        return set(choices.split("|"))
    source = names.get("vm" if name == "pattern" else "host" if name == "hosts" else name)
    return set(source()) if source is not None else set()
