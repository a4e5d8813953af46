"""Hosts marked in maintenance: kept in the inventory's meta table, so the mark outlives restarts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inventory import codec
from inventory.index import Snapshot
from inventory.plan import Plan

KEY = "maintenance"


@dataclass(frozen=True)
class MaintenanceMark:
    """A host kept out of new placements: since when and on whose word."""

    host: str
    since: datetime
    by: str


def marks(snap: Snapshot) -> dict[str, MaintenanceMark]:
    """Every host's maintenance mark, by host name."""
    entry = snap.meta_entry(KEY)
    if entry is None:
        return {}
    hosts = entry[1].get("hosts", {})
    return snap.decode("meta", entry, lambda _doc: {
        host: MaintenanceMark(host=host, since=codec.parse_time(mark["since"]), by=str(mark["by"]))
        for host, mark in hosts.items()
    })


def put_mark(plan: Plan, host: str, *, on: bool, at: datetime, user: str) -> bool:
    """Mark or unmark a host; False if it already was as asked (nothing is written then)."""
    entry = plan.snap.meta_entry(KEY)
    hosts = dict(entry[1].get("hosts", {})) if entry else {}
    if (host in hosts) == on:
        return False
    if on:
        hosts[host] = {"since": codec.iso(at), "by": user}
    else:
        del hosts[host]
    plan.put("meta", entry[0] if entry else plan.new_id("meta"), {"key": KEY, "hosts": hosts})
    return True
