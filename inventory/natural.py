"""Natural ordering of names, so ldap2 sorts before ldap10."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"(\d+)")

NaturalKey = tuple[tuple[tuple[int, int | str], ...], str]


def natural_key(name: str) -> NaturalKey:
    """Sort key that compares runs of digits as numbers (host2 < host10), ignoring case."""
    # Tag each part so numbers and words are never compared with each other; the name
    # itself breaks ties between spellings that differ only in case or leading zeros.
    parts = tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower()) for part in _DIGITS.split(name) if part
    )
    return parts, name
