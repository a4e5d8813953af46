"""Field-level differences between two VM configurations (`VM.config()` dicts).

Nested dicts give dotted paths (`meta.cluster`). Lists of devices are matched by their
identity rather than position, disks by target and NICs by MAC, so a changed bridge reads
`nics[00:16:3e:00:00:01].bridge: br100 -> br120` and an added NIC reads `nics[MAC]` with
old None. A reordering of the same devices (which renames them in the guest) is reported
as `<list>.order` with the old and new key sequences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inventory.records import FieldDiff

# Which field identifies an item of each device list.
ITEM_KEYS: Mapping[str, str] = {"disks": "target", "nics": "mac"}


def diff_configs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldDiff]:
    """List what differs from `old` to `new`, in the order the fields appear."""
    out: list[FieldDiff] = []
    _diff_mapping("", old, new, out)
    return out


def _diff_value(path: str, old: Any, new: Any, out: list[FieldDiff]) -> None:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        _diff_mapping(path, old, new, out)
        return
    key = ITEM_KEYS.get(path)
    if key and isinstance(old, list) and isinstance(new, list):
        old_items, new_items = _by_key(old, key), _by_key(new, key)
        if old_items is not None and new_items is not None:
            _diff_items(path, old_items, new_items, out)
            return
    out.append(FieldDiff(path, old, new))


def _diff_mapping(prefix: str, old: Mapping[str, Any], new: Mapping[str, Any], out: list[FieldDiff]) -> None:
    # A field only one side has was not recorded by the granja that wrote the other (a baseline
    # taken before granja read initrd or disk formats): that is no change in the VM.
    for name in old:
        if name in new:
            _diff_value(f"{prefix}.{name}" if prefix else name, old[name], new[name], out)


def _diff_items(path: str, old: dict[str, Any], new: dict[str, Any], out: list[FieldDiff]) -> None:
    kept_before = [k for k in old if k in new]
    kept_after = [k for k in new if k in old]
    if kept_before != kept_after:
        out.append(FieldDiff(f"{path}.order", kept_before, kept_after))
    for key, item in old.items():
        if key in new:
            _diff_value(f"{path}[{key}]", item, new[key], out)
        else:
            out.append(FieldDiff(f"{path}[{key}]", item, None))
    for key, item in new.items():
        if key not in old:
            out.append(FieldDiff(f"{path}[{key}]", None, item))


def _by_key(items: list[Any], key: str) -> dict[str, Any] | None:
    """Items indexed by their identity field, or None if some item lacks a unique one."""
    indexed = {str(item[key]): item for item in items if isinstance(item, Mapping) and key in item}
    return indexed if len(indexed) == len(items) else None
