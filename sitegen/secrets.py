"""Keep what the fleet config marks secret out of the site: matching text is replaced everywhere.

Graphics passwords and `passwd` attributes never reach the model (hypervisor/domain_xml.py
does not read them). This covers the rest: anything an operator's `[site] secrets` patterns
match, say a key embedded in a disk path, is blanked in the snapshot before any page or
export is rendered, so no page, search index entry or export can hold it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from inventory.disclosure import MASK, redact_text

__all__ = ["MASK", "redact"]

T = TypeVar("T")


class SecretPattern(Protocol):
    """A compiled pattern (the config's are RE2's, linear in the text) that can mask its matches."""

    def sub(self, replacement: str, text: str) -> str:
        """The text with every match replaced."""


def redact(value: T, patterns: Sequence[SecretPattern]) -> T:
    """A copy of `value` (dataclasses, tuples, lists, dicts, text) with every match masked.

    With patterns, the built-in ones (inventory.disclosure: Slack tokens, `password=…`) apply too;
    audit entries get those always (sitegen.snapshot).
    """
    if not patterns:
        return value
    return _walk(value, patterns)  # type: ignore[no-any-return]


def _walk(value: Any, patterns: Sequence[SecretPattern]) -> Any:
    if isinstance(value, str):
        return redact_text(value, patterns)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _walk(getattr(value, f.name), patterns) for f in dataclasses.fields(value)
                   if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(_walk(item, patterns) for item in value)
    if isinstance(value, list):
        return [_walk(item, patterns) for item in value]
    if isinstance(value, dict):
        return {_walk(k, patterns): _walk(v, patterns) for k, v in value.items()}
    return value
