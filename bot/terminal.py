"""The terminal granja writes to: its width, read the way `shutil.get_terminal_size` reads it."""

from __future__ import annotations

import os
import sys


def terminal_width() -> int:
    """Terminal columns as `shutil.get_terminal_size` gives them: COLUMNS, else the terminal, else 80.

    Written out because importing shutil (and the bz2, lzma and zlib it imports) cost every
    `granja ask` 1.5 ms, a tenth of a bare Python start, for this one call.
    """
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
