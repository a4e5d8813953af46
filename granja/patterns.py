"""The fleet config's regular expressions: RE2 (linear time), compiled when first used in a process.

Checking the config compiles each pattern, so a bad one is reported at once; the checked config
that is cached between processes (config_cache) keeps only the sources, so a command that matches
no cluster name and masks no secret does not load RE2 at all.
"""

from __future__ import annotations

from typing import Any


def compile_pattern(source: str) -> RE2Pattern:
    """Compile a regular expression with RE2 (linear time); ValueError says what RE2 cannot take."""
    return RE2Pattern(source, _compiled(source))


class RE2Pattern:
    """A regular expression in RE2 syntax, compiled on first use in a process."""

    def __init__(self, source: str, compiled: Any = None) -> None:
        self.source = source
        self._regex = compiled

    def __reduce__(self) -> tuple[type[RE2Pattern], tuple[str]]:
        """Pickled as its source alone: the compiled form belongs to one process."""
        return RE2Pattern, (self.source,)

    def __repr__(self) -> str:
        return f"RE2Pattern({self.source!r})"

    def fullmatch(self, text: str) -> object:
        """A match if the whole text matches, else None."""
        return self._compiled().fullmatch(text)

    def search(self, text: str) -> object:
        """A match anywhere in the text, else None."""
        return self._compiled().search(text)

    def sub(self, replacement: str, text: str) -> str:
        """The text with every match replaced."""
        return str(self._compiled().sub(replacement, text))

    def _compiled(self) -> Any:
        if self._regex is None:
            self._regex = _compiled(self.source)
        return self._regex


def _compiled(source: str) -> Any:
    import re2  # the engine itself, loaded by the first pattern a process uses

    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(source, options)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"bad regular expression ({detail}); granja takes RE2 syntax, which has no "
                         "backreferences or lookaround, so that no pattern can run for ever") from None
