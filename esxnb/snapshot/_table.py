"""The ``snapshots()`` table: one row per snapshot of every VM, from one bulk retrieval (and the
same columns for one domain's ``Domain.snapshots()``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from .._tables import Column, Row, TableSpec
from ._tree import SNAPSHOT_STATES, SnapshotRecord, _get, _items, _moref, walk

__all__ = ["SNAPSHOTS", "snapshot_records"]

_MIB = 1024 * 1024


def _sizes(layout_snapshots: Any, layout_files: Any) -> dict[str, int]:
    """Bytes per snapshot moref: its state and memory files and the newest delta of each disk
    (what deleting the snapshot frees, roughly), where the server reports file layouts."""
    entries = _items(layout_snapshots)
    if not entries:  # most VMs: no snapshot, no need to index their files
        return {}
    size_of = {str(_get(f, "key")): int(_get(f, "size") or 0) for f in _items(layout_files)}
    sizes = {}
    for entry in entries:
        keys = [_get(entry, "dataKey"), _get(entry, "memoryKey")]
        for disk in _items(_get(entry, "disk")):
            chain = _items(_get(disk, "chain"))
            if len(chain) > 1:  # a delta over its parent; a chain of one is the base disk itself
                keys.extend(_items(_get(chain[-1], "fileKey")))
        total = sum(size_of.get(str(key), 0) for key in keys if key is not None and str(key) != "-1")
        moref = _moref(_get(entry, "key"))
        if moref is not None:
            sizes[moref] = total
    return sizes


def snapshot_records(
    vm_name: str,
    vm_uuid: str | None,
    vm_moref: str,
    info: Any,
    layout_snapshots: Any = None,
    layout_files: Any = None,
) -> Iterator[SnapshotRecord]:
    """The rows of one VM: its snapshot tree with the VM's keys, ages and sizes."""
    now = dt.datetime.now(dt.timezone.utc)
    sizes = _sizes(layout_snapshots, layout_files)
    for record in walk(info):
        created = record["created"]
        age = now - created if created is not None else None
        size = sizes.get(record["moref"] or "")
        yield {
            **record,
            "domain": vm_name,
            "domain_uuid": vm_uuid,
            "vm_moref": vm_moref,
            "age": age,
            "age_days": age.total_seconds() / 86400 if age is not None else None,
            "size_mib": round(size / _MIB, 3) if size is not None else None,
            "children": len(record["children"]),
        }


def _expand(row: Row) -> Iterator[SnapshotRecord]:
    return snapshot_records(
        str(row.get("name")),
        row.get("config.uuid"),
        row.ref.value,
        row.get("snapshot"),
        row.get("layoutEx.snapshot"),
        row.get("layoutEx.file"),
    )


def _item(key: str) -> Any:
    return lambda row: row.item[key]


SNAPSHOTS = TableSpec(
    name="snapshots",
    types=("VirtualMachine",),
    paths=("name", "config.uuid", "snapshot", "layoutEx.snapshot", "layoutEx.file"),
    columns=(
        Column("domain", value=_item("domain")),
        Column("name", value=_item("name")),
        Column("description", value=_item("description")),
        Column("created", "datetime64[ns, UTC]", value=_item("created")),
        Column("age", "timedelta64[ns]", value=_item("age")),
        Column("age_days", "Float64", value=_item("age_days")),
        Column("state", tuple(SNAPSHOT_STATES.values()), value=_item("state")),
        Column("has_memory", "boolean", value=_item("has_memory")),
        Column("quiesced", "boolean", value=_item("quiesced")),
        Column("parent", value=_item("parent")),
        Column("current", "boolean", value=_item("current")),
        Column("depth", "Int64", value=_item("depth")),
        Column("children", "Int64", value=_item("children")),
        Column("id", "Int64", value=_item("id")),
        Column("size_mib", "Float64", value=_item("size_mib")),
        Column("moref", value=_item("moref")),
        Column("domain_uuid", value=_item("domain_uuid")),
        Column("vm_moref", value=_item("vm_moref")),
    ),
    sort=("domain", "vm_moref"),
    expand=_expand,
    doc="One row per snapshot of every VM in scope, parents before children.",
)
