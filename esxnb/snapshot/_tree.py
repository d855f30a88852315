"""A VM's snapshot tree, flattened: one record per snapshot with its depth, parent and whether
it is the current one. Works on pyVmomi objects and on the bulk decoder's dicts alike."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from .. import errors
from .._vocabulary import domain_state

__all__ = ["SnapshotRecord", "walk", "find", "snapshot_state", "SNAPSHOT_STATES"]

#: libvirt's words for the power state a snapshot restores (virsh snapshot-list "State").
SNAPSHOT_STATES = {"running": "running", "paused": "paused", "shut off": "shutoff", "no state": "nostate"}

SnapshotRecord = dict[str, Any]


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _items(value: Any) -> list[Any]:
    # the bulk decoder cannot tell a one-element array from a single value
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _moref(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "_moId", None) or getattr(value, "value", None) or value)


def _time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    # xsd:dateTime with up to nanoseconds; Python's parser takes at most microseconds
    match = re.fullmatch(r"([^.Z+]+(?:T[^.Z+-]+)?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", str(value).strip())
    if match is None:
        raise errors.ServerFault(
            f"the server sent a snapshot time that is not a date: {value!r}", fault_type="DateTime"
        )
    head, fraction, zone = match.groups()
    text = (
        head
        + (f".{fraction[:6].ljust(6, '0')}" if fraction else "")
        + ("+00:00" if zone in (None, "Z") else zone)
    )
    return dt.datetime.fromisoformat(text)


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def snapshot_state(power_state: Any) -> str:
    """libvirt's snapshot state word for the power state saved with a snapshot."""
    return SNAPSHOT_STATES[domain_state(power_state)]


def walk(info: Any) -> Iterator[SnapshotRecord]:
    """Every snapshot of ``info`` (a VM's ``snapshot`` property), parents before children."""
    if info is None:
        return
    current = _moref(_get(info, "currentSnapshot"))

    def visit(
        node: Any, parent: str | None, parent_moref: str | None, depth: int
    ) -> Iterator[SnapshotRecord]:
        moref = _moref(_get(node, "snapshot"))
        children = _items(_get(node, "childSnapshotList"))
        power = _get(node, "state")
        yield {
            "name": _get(node, "name"),
            "description": _get(node, "description") or "",
            "created": _time(_get(node, "createTime")),
            "state": snapshot_state(power),
            "quiesced": _bool(_get(node, "quiesced")),
            # a snapshot keeps the guest's memory exactly when it restores a running or paused VM
            "has_memory": str(power) in ("poweredOn", "suspended"),
            "parent": parent,
            "parent_moref": parent_moref,
            "current": moref is not None and moref == current,
            "depth": depth,
            "id": int(_get(node, "id")) if _get(node, "id") is not None else None,
            "children": [_get(child, "name") for child in children],
            "moref": moref,
        }
        for child in children:
            yield from visit(child, _get(node, "name"), moref, depth + 1)

    for root in _items(_get(info, "rootSnapshotList")):
        yield from visit(root, None, None, 0)


def find(info: Any, name: str, moref: str | None = None) -> SnapshotRecord | None:
    """The snapshot called ``name`` (the first in tree order, as libvirt looks it up); with
    ``moref``, the one with that managed object id, which tells apart snapshots of the same name."""
    if moref is not None:
        return next((r for r in walk(info) if r["moref"] == moref and r["name"] == name), None)
    return next((record for record in walk(info) if record["name"] == name), None)
