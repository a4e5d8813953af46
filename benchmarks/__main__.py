"""Run every benchmark, or the ones named: python -m benchmarks [NAME ...], names below."""

from __future__ import annotations

import sys

from benchmarks import core, slack_ack

BENCHMARKS = {
    "where_process": core.where_process,
    "refresh": core.refresh_scaling,
    "where_farm": core.where_in_process,
    "slack_ack": slack_ack.ack_latency,
}

chosen = sys.argv[1:] or list(BENCHMARKS)
for name in chosen:
    BENCHMARKS[name]()
