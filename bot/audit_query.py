"""`audit` and its filters: who changed what, on a VM, host or cluster, by whom, since when, failed.

`audit` alone shows changes: commands declared with `changes=True` in the grammar (done,
refused or failed: each tried to change the farm) and operations that were interrupted.
`all` shows every command. Filters combine, in any order:

    audit host07 by bob since yesterday failed

A name is a VM, a host (its VMs and the operations on it, evacuations included), a cluster
(its members and the operations on it), or a user, in that order. `since` takes `2h`, `30m`,
`3d`, `1w`, `today`, `yesterday`, or a date (`2026-11-29`, local time) or ISO date-time.

`entry_filter` builds the one predicate the search applies: more conditions (who may see an
entry where) are added there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot import lookup
from bot.context import Context
from bot.grammar import BY_NAME
from bot.parser import Command
from bot.results import AuditRow, AuditTable, Outcome, Reply, Text
from inventory import AuditEntry
from inventory.disclosure import redact_entry, speaker, visible_to

LIMIT = 20
FAILED = frozenset({"failed", "error", "interrupted"})  # tried and did not (wholly) happen
_INTERRUPTED = frozenset({"interrupted"})
_NOT_TRIED = frozenset({"usage", "cancelled"})  # nothing was attempted
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SINCE_HELP = "'since' takes 2h, 30m, 3d, 1w, today, yesterday or a date such as 2026-11-29"
Keep = Callable[[AuditEntry], bool]


class AuditFilterError(ValueError):
    """Filter words that do not make sense; the message says what to type."""


@dataclass(frozen=True)
class AuditQuery:
    """What `audit` was asked for, the filter words parsed."""

    everything: bool = False  # 'all': every command, not only changes
    name: str = ""  # a VM, host, cluster or user, resolved by `entry_filter`
    user: str = ""  # 'by USER'
    since: datetime | None = None
    since_words: str = ""  # as typed, for the title
    failed: bool = False


def parse_filters(words: str, now: datetime) -> AuditQuery:
    """The filter words after `audit`, or AuditFilterError saying which one is wrong."""
    tokens = [t for t in re.split(r"[\s,]+", words.strip()) if t]
    fields: dict[str, object] = {}
    position = 0
    while position < len(tokens):
        word = tokens[position]
        lower = word.lower()
        if lower in ("all", "failed"):
            fields["everything" if lower == "all" else "failed"] = True
        elif lower in ("by", "since"):
            if position + 1 >= len(tokens):
                raise AuditFilterError(f"'{lower}' needs a {'user' if lower == 'by' else 'time'} after it: "
                                       + ("audit by bob" if lower == "by" else _SINCE_HELP) + ".")
            position += 1
            if lower == "by":
                fields["user"] = tokens[position]
            else:
                fields["since"], fields["since_words"] = since_time(tokens[position], now), tokens[position]
        elif "name" in fields:
            raise AuditFilterError(f"'audit' takes one VM, host, cluster or user name; got "
                                   f"'{fields['name']}' and '{word}'. For a user, write 'by {word}'.")
        else:
            fields["name"] = word
        position += 1
    return AuditQuery(**fields)  # type: ignore[arg-type]


def since_time(word: str, now: datetime) -> datetime:
    """When `since WORD` begins: a span back from `now`, today, yesterday, or a date (local time)."""
    local = now.astimezone()
    lower = word.lower()
    if lower in ("today", "yesterday"):
        day = local.date() - timedelta(days=1 if lower == "yesterday" else 0)
        return datetime.combine(day, time(), tzinfo=local.tzinfo)
    span = re.fullmatch(r"(\d+)\s*(min|m|h|d|w)", lower)
    if span:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        when = datetime.fromisoformat(word)
    except ValueError:
        raise AuditFilterError(f"I can't read '{word}' as a time: {_SINCE_HELP}.") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=local.tzinfo)


def is_change(entry: AuditEntry) -> bool:
    """Whether an entry changed, or tried to change, the farm."""
    if entry.outcome in _INTERRUPTED:  # the journal's outcome for an operation cut short
        return True
    spec = BY_NAME.get(entry.command.split(" ", 1)[0]) if entry.command else None
    return spec is not None and spec.changes and entry.outcome not in _NOT_TRIED


def _names(entry: AuditEntry) -> set[str]:
    """The VMs an entry is about: its VM, and those an evacuation or recovery moved."""
    return {entry.vm, *entry.extra.get("vms", "").split(",")} - {""}


def _about_host(host: str, vms_there: set[str]) -> Keep:
    return lambda e: host in e.hosts or bool(_names(e) & vms_there) or host in e.command.split()


def _about_cluster(ctx: Context, cluster: str, members: set[str]) -> Keep:
    def keep(entry: AuditEntry) -> bool:
        if cluster in entry.command.split() or _names(entry) & members:
            return True
        return any((c := ctx.config.cluster_for_name(n)) is not None and c.name == cluster
                   for n in _names(entry))

    return keep


def _by(user: str) -> Keep:
    wanted = user.lower()
    return lambda e: wanted in (e.user.lower(), e.extra.get("who", "").lower())


def entry_filter(ctx: Context, query: AuditQuery) -> tuple[Keep, str]:
    """The predicate an entry must meet to be shown, and a title saying what it selects."""
    conditions: list[Keep] = []
    what = "Commands" if query.everything else "Changes"
    if query.failed:
        conditions.append(lambda e: e.outcome in FAILED)
        what = f"Failed {what.lower()}"
    if not query.everything:
        conditions.append(is_change)
    about, scope = _subject(ctx, query.name)
    if about is not None:
        conditions.append(about)
    user = query.user or (query.name if query.name and about is None else "")
    if user:
        conditions.append(_by(user))
    title = what + scope + (f" by {user}" if user else "")
    if query.since is not None:
        since = query.since
        conditions.append(lambda e: e.at >= since)
        title += f" since {query.since_words}"
    # Entries from direct messages and private channels: only for admins, or where they were written.
    conditions.append(lambda e: visible_to(e, role=ctx.role, channel=ctx.channel))
    return (lambda e: all(check(e) for check in conditions)), title


def _subject(ctx: Context, name: str) -> tuple[Keep | None, str]:
    """What a name in the filter is: (a predicate and " to X"), or (None, "") for a user."""
    if not name:
        return None, ""
    if name in ctx.farm.host_names:
        vms_there = {r.vm.name for r in ctx.inventory.vms_on(name)}
        return _about_host(name, vms_there), f" on {name} and its VMs"
    if name in ctx.config.clusters:
        members = {r.vm.name for r in ctx.inventory.vms_in(name)}
        return _about_cluster(ctx, name, members), f" in cluster {name}"
    if ctx.inventory.vm(name) is not None or name not in _users(ctx):
        return (lambda e: name in _names(e)), f" to {name}"
    return None, ""


def _users(ctx: Context) -> set[str]:
    return set(ctx.config.users)


def audit(ctx: Context, cmd: Command) -> Reply:
    """Show who changed what: changes (or 'all' commands), filtered by name, user, time, failure."""
    try:
        query = parse_filters(cmd.args.get("filters", ""), ctx.now())
    except AuditFilterError as exc:
        return Reply(Outcome.USAGE, Text(str(exc)), str(exc))
    keep, title = entry_filter(ctx, query)
    entries = ctx.inventory.audit_matching(keep, limit=LIMIT, since=query.since)
    if not entries and query.name and not _known(ctx, query.name):
        raise lookup.unknown("VM, host, cluster or user", query.name, _every_name(ctx))
    secrets = ctx.config.site.secrets
    rows = tuple(AuditRow(at=e.at, user=speaker(e), text=e.text, outcome=e.outcome, detail=e.detail,
                          duration_ms=e.duration_ms)
                 for e in (redact_entry(entry, secrets) for entry in entries))
    vm = query.name if ctx.inventory.vm(query.name) is not None else ""
    summary = f"{len(rows)} audit {'entry' if len(rows) == 1 else 'entries'}"
    body = AuditTable(title=title, rows=rows, skipped=tuple(ctx.inventory.audit_damage()))
    return Reply(Outcome.OK, body, summary, vm=vm)


def _known(ctx: Context, name: str) -> bool:
    return (ctx.inventory.vm(name) is not None or name in ctx.farm.host_names
            or name in ctx.config.clusters or name in _users(ctx))


def _every_name(ctx: Context) -> Iterable[str]:
    return [*ctx.inventory.vm_names(), *ctx.farm.host_names, *ctx.config.clusters, *_users(ctx)]
