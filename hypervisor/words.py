"""Counting and listing in English, shared by every message: `1 finding`, `2 differences`, `a, b and c`."""

from __future__ import annotations

from collections.abc import Sequence


def plural(count: int, noun: str, many: str = "") -> str:
    """A count and its noun, plural unless the count is one: "1 finding", "2 findings"."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def listed(names: Sequence[str], *, shown: int = 4) -> str:
    """Names joined as a sentence; beyond `shown`, "and N more" — but only where it saves room.

    Naming the last hidden one costs no more than "and 1 more", so one more name is always shown.
    """
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    if len(names) > shown + 1:
        more = f"{len(names) - shown} more"
        hidden = ", ".join(names[shown:])
        if len(hidden) > len(more):
            return ", ".join(names[:shown]) + f" and {more}"
    return ", ".join(names[:-1]) + f" and {names[-1]}"
