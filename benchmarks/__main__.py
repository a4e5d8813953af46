"""Run every benchmark, or the ones named: python -m benchmarks [NAME...] (names below)."""

from __future__ import annotations

import sys

from benchmarks import core, real_migration

BENCHMARKS = {
    "where_process": core.where_process,
    "refresh": core.refresh_scaling,
    "where_farm": core.where_in_process,
    "live_migration": real_migration.live_migration,
}

chosen = sys.argv[1:] or list(BENCHMARKS)
for name in chosen:
    BENCHMARKS[name]()
