"""How records become JSON documents and back; times are ISO-8601 strings in UTC."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from hypervisor.model import VM, compact_devices, expand_config, to_dict, to_doc, vm_from_dict
from inventory.records import (
    AuditEntry,
    Baseline,
    Change,
    HostRecord,
    RefreshInfo,
    VMRecord,
)

Doc = dict[str, Any]


def utc(at: datetime) -> datetime:
    """Return `at` in UTC; refuse naive datetimes, whose meaning depends on the server."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass a timezone-aware one")
    return at.astimezone(UTC)


def iso(at: datetime) -> str:
    """Fixed-width UTC ISO-8601, so stored times also sort as strings."""
    return utc(at).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """Read back a stored time as an aware UTC datetime."""
    return utc(datetime.fromisoformat(text))


def _maybe_time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def vm_doc(vm: VM, *, last_seen: str, stale_since: str | None, strays: Iterable[str],
           running: Iterable[str] = ()) -> Doc:
    """Document of one VM sighting; times already in `iso` form (one conversion per refresh).

    What the VM uses now is kept beside its configuration, so an unchanged VM compares equal.
    `running` (the stray hosts where another copy runs too) is written only when there is one.
    """
    data = to_doc(vm)
    usage = data.pop("usage", None)
    doc = {
        "name": vm.name,
        "vm": data,
        "usage": usage,
        "last_seen": last_seen,
        "stale_since": stale_since,
        "strays": list(strays),
    }
    if running := list(running):
        doc["running_elsewhere"] = running
    return doc


def vm_record(doc: Doc) -> VMRecord:
    """VMRecord from its document."""
    return VMRecord(
        vm=vm_from_dict({**doc["vm"], "usage": doc.get("usage")}),
        last_seen=parse_time(doc["last_seen"]),
        stale_since=_maybe_time(doc.get("stale_since")),
        strays=tuple(doc.get("strays", ())),
        running_elsewhere=tuple(doc.get("running_elsewhere", ())),
    )


def host_doc(
    name: str, host: Doc | None, *, last_seen: str | None, unreachable_since: str | None, reason: str
) -> Doc:
    """Document of one host; `host` is None for a host never reached."""
    return {
        "name": name,
        "host": host,
        "last_seen": last_seen,
        "unreachable_since": unreachable_since,
        "reason": reason,
    }


def host_record(doc: Doc) -> HostRecord:
    """HostRecord from its document, with a placeholder Host if it was never reached."""
    from hypervisor.host_model import Host, host_from_dict  # hosts: not read to answer a question on a VM

    data = doc["host"]
    host = (
        host_from_dict(data)
        if data is not None
        else Host(name=doc["name"], uri="", driver="", cpus=0, memory_mib=0)
    )
    return HostRecord(
        host=host,
        last_seen=_maybe_time(doc.get("last_seen")),
        unreachable_since=_maybe_time(doc.get("unreachable_since")),
        reason=doc.get("reason", ""),
    )


def baseline_doc(baseline: Baseline) -> Doc:
    """Document of a baseline."""
    return {
        "vm": baseline.vm,
        "id": baseline.id,
        "taken_at": iso(baseline.taken_at),
        "taken_by": baseline.taken_by,
        # Devices' default fields are left out (20,000 baselines are rewritten at every refresh);
        # "compact" says so, and a baseline stored before has every field it had.
        "config": compact_devices(baseline.config),
        "compact": True,
    }


def baseline_record(doc: Doc) -> Baseline:
    """Baseline from its document (the caller copies the config if it hands it out)."""
    return Baseline(
        vm=doc["vm"],
        id=doc["id"],
        taken_at=parse_time(doc["taken_at"]),
        config=expand_config(doc["config"]) if doc.get("compact") else doc["config"],
        taken_by=doc.get("taken_by", ""),
    )


def change_doc(change: Change) -> Doc:
    """Document of a change."""
    return {
        "vm": change.vm,
        "at": iso(change.at),
        "kind": change.kind,
        "path": change.path,
        "old": change.old,
        "new": change.new,
        "command": change.command,
        "user": change.user,
    }


def change_record(doc: Doc) -> Change:
    """Change from its document."""
    return Change(
        vm=doc["vm"],
        at=parse_time(doc["at"]),
        kind=doc["kind"],
        path=doc["path"],
        old=doc.get("old"),
        new=doc.get("new"),
        command=doc.get("command", ""),
        user=doc.get("user", ""),
    )


def audit_doc(entry: AuditEntry) -> Doc:
    """Document of an audit entry."""
    doc = to_dict(entry)
    doc["at"] = iso(entry.at)
    doc["extra"] = dict(entry.extra)
    return doc  # type: ignore[no-any-return]


def audit_record(doc: Doc) -> AuditEntry:
    """AuditEntry from its document."""
    return AuditEntry(
        **{
            **doc,
            "at": parse_time(doc["at"]),
            "hosts": tuple(doc.get("hosts", ())),
            "extra": dict(doc.get("extra", {})),
        }
    )


def refresh_doc(info: RefreshInfo) -> Doc:
    """Document of the last refresh, kept in the meta table."""
    return {
        "key": "last_refresh",
        "at": iso(info.at),
        "duration_s": info.duration_s,
        "hosts_ok": list(info.hosts_ok),
        "hosts_unreachable": dict(info.hosts_unreachable),
        "vms": info.vms,
    }


def refresh_record(doc: Doc) -> RefreshInfo:
    """RefreshInfo from its document."""
    return RefreshInfo(
        at=parse_time(doc["at"]),
        duration_s=float(doc["duration_s"]),
        hosts_ok=tuple(doc["hosts_ok"]),
        hosts_unreachable=dict(doc["hosts_unreachable"]),
        vms=int(doc.get("vms", 0)),
    )
