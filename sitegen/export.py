"""The site's machine-readable copies of the inventory: inventory.json and vms.csv, for scripts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypervisor.model import Usage, to_dict
from inventory.records import HostRecord, VMRecord
from sitegen.snapshot import FarmView

CSV_COLUMNS = ("name", "host", "state", "stale_since", "cluster", "template", "vcpus", "memory_mib",
               "virt", "autostart", "macs", "bridges", "disks", "last_seen")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_json(view: FarmView) -> str:
    """The hosts and VMs as last seen, with the last refresh, as one JSON document."""
    refresh = view.last_refresh
    last_refresh = None if refresh is None else {
        "at": refresh.at.isoformat(), "hosts_ok": list(refresh.hosts_ok),
        "hosts_unreachable": dict(refresh.hosts_unreachable),
    }
    # The document's keys in sorted order, as json.dumps(sort_keys=True) of the whole would write them.
    return (f'{{"hosts":{_json([_host(record) for record in view.hosts])},'
            f'"last_refresh":{_json(last_refresh)},"vms":[{",".join(_vm_texts(view.vms))}]}}\n')


def _json(value: Any) -> str:
    # No indent: json's C encoder only runs without one, several times faster at 20,000 VMs.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# Each VM's part of inventory.json as last written in this process, by its record and what it uses
# (a record's equality leaves use out): the bot's publisher exports after every change, and
# converting 5,000 unchanged records took most of the export's time. Text, not dicts, so that
# the garbage collector has nothing more to go through; kept to the last export's VMs, so it
# never outgrows the farm.
_VM_TEXTS: dict[tuple[VMRecord, Usage | None], str] = {}


def _vm_texts(records: tuple[VMRecord, ...]) -> list[str]:
    keys = [(record, record.vm.usage) for record in records]
    texts = {key: _VM_TEXTS.get(key) or _json(_vm(key[0])) for key in keys}
    _VM_TEXTS.clear()
    _VM_TEXTS.update(texts)
    return [texts[key] for key in keys]


def export_csv(view: FarmView) -> str:
    """One row per VM: where it runs, its size and wiring, as a spreadsheet opens it safely."""
    stream = io.StringIO()
    # CRLF, as RFC 4180 says: the writer then quotes any value holding a CR (a lone CR splits a row).
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in view.vms:
        vm = record.vm
        row: list[Any] = [
            vm.name, vm.host, vm.state.value, _iso(record.stale_since), vm.meta.cluster, vm.meta.template,
            vm.vcpus, vm.memory_mib, vm.virt.value, vm.autostart, " ".join(n.mac for n in vm.nics),
            " ".join(n.bridge for n in vm.nics), " ".join(d.source for d in vm.disks),
            _iso(record.last_seen),
        ]
        writer.writerow([_cell(value) for value in row])
    return stream.getvalue()


def _host(record: HostRecord) -> dict[str, Any]:
    data: dict[str, Any] = to_dict(record.host)
    data.update(last_seen=_iso(record.last_seen), unreachable_since=_iso(record.unreachable_since),
                reason=record.reason)
    return data


def _vm(record: VMRecord) -> dict[str, Any]:
    data: dict[str, Any] = to_dict(record.vm)
    # The full definition is for `recover` only: kept in the inventory, never published.
    data.pop("definition", None)
    data.update(last_seen=_iso(record.last_seen), stale_since=_iso(record.stale_since),
                strays=list(record.strays))
    return data


def _iso(at: Any) -> str | None:
    return None if at is None else str(at.isoformat())


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
