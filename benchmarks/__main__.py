"""Run every benchmark, or those named (python -m benchmarks NAME...): see BENCHMARKS below."""

from __future__ import annotations

import sys

from benchmarks import core, site_build

BENCHMARKS = {
    "where_process": core.where_process,
    "refresh": core.refresh_scaling,
    "where_farm": core.where_in_process,
    "site_build": site_build.site_build,
    "site_nav": site_build.site_nav,
}

chosen = sys.argv[1:] or list(BENCHMARKS)
for name in chosen:
    BENCHMARKS[name]()
