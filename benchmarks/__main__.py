"""Run every benchmark, or those named: python -m benchmarks [where_process refresh farm_changes …]."""

from __future__ import annotations

import sys

from benchmarks import core, farm_changes

BENCHMARKS = {
    "where_process": core.where_process,
    "refresh": core.refresh_scaling,
    "where_farm": core.where_in_process,
    "farm_changes": farm_changes.farm_changes,
}

chosen = sys.argv[1:] or list(BENCHMARKS)
for name in chosen:
    BENCHMARKS[name]()
