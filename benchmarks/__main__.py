"""Run every benchmark, or the ones named: python -m benchmarks [where_process where_farm refresh]."""

from __future__ import annotations

import sys

from benchmarks import core

BENCHMARKS = {
    "where_process": core.where_process,
    "refresh": core.refresh_scaling,
    "where_farm": core.where_in_process,
}

chosen = sys.argv[1:] or list(BENCHMARKS)
for name in chosen:
    BENCHMARKS[name]()
