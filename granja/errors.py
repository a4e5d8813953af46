"""The fleet config's error, in a module of its own: caught without loading the checker."""

from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """The fleet configuration is missing, malformed or inconsistent."""

    def __init__(self, path: Path, where: str, problem: str) -> None:
        self.path = path
        self.where = where
        self.problem = problem
        super().__init__(f"{path}: {where}: {problem}")
