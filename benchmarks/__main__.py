"""Run every benchmark, or the ones named: python -m benchmarks [NAME ...], names as in BENCHMARKS."""

from __future__ import annotations

import sys

from benchmarks import core, farm_changes, placement, real_migration, resilience, site_build, slack_ack, watch

BENCHMARKS = {
    "where_process": core.where_process,
    "refresh": core.refresh_scaling,
    "where_farm": core.where_in_process,
    "evacuate_plan": placement.evacuation_plan,
    "resilience": resilience.resilience,
    "site_build": site_build.site_build,
    "site_nav": site_build.site_nav,
    "site_republish": site_build.site_republish,
    "farm_changes": farm_changes.farm_changes,
    "live_migration": real_migration.live_migration,
    "slack_ack": slack_ack.ack_latency,
    "watch_idle": watch.watch_idle,
    "watch_burst": watch.watch_burst,
    "watch_latency": watch.watch_latency,
}

chosen = sys.argv[1:] or list(BENCHMARKS)
for name in chosen:
    BENCHMARKS[name]()
