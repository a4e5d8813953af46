"""Sizes as people write them ('4G', '512M', '2GiB'), read into MiB."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)


def parse_size_mib(text: str) -> int:
    """Parse a size such as '4G', '512M' or '2GiB' into MiB."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"'{text}' is not a size (try 512M, 4G or 2GiB)")
    number, unit = float(match.group(1)), (match.group(2) or "M")[0].upper()
    factor = {"B": 1 / 2**20, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}[unit]
    return int(number * factor)
