"""What changed between two estates: rows added and removed, values changed, per table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    Tables = Mapping[str, pd.DataFrame]

__all__ = ["diff_estates", "KEYS", "VOLATILE"]

#: The columns that identify a row of each table (a VM's disk is its VM and device key).
KEYS: dict[str, tuple[str, ...]] = {
    "vms": ("moref",),
    "vm_cpu": ("vm_moref",),
    "vm_memory": ("vm_moref",),
    "tools": ("vm_moref",),
    "disks": ("vm_moref", "key"),
    "nics": ("vm_moref", "key"),
    "cdroms": ("vm_moref", "key"),
    "usb": ("vm_moref", "key"),
    "partitions": ("vm_moref", "path"),
    "snapshots": ("moref",),
    "hosts": ("moref",),
    "clusters": ("moref",),
    "resource_pools": ("moref",),
    "datastores": ("moref",),
    "dv_portgroups": ("moref",),
    "dvports": ("switch_moref", "port_key"),
    "domains": ("moref",),
    "scheduler": ("uuid",),
}
#: Columns that change by themselves between two reads (ages, live usage): left out unless asked.
VOLATILE = frozenset(
    {
        "age",
        "age_days",
        "usage_mhz",
        "guest_usage_mib",
        "host_usage_mib",
        "overhead_mib",
        "cpu_usage_mhz",
        "cpu_usage_pct",
        "memory_usage_mib",
        "memory_usage_pct",
        "ballooned_mib",
        "swapped_mib",
        "id",
    }
)
_LABELS = ("name", "vm", "domain")


def _text(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _keyed(frame: pd.DataFrame, keys: Sequence[str]) -> dict[tuple[Any, ...], Mapping[str, Any]]:
    records = frame.to_dict("records")
    return {tuple(_text(r.get(k)) for k in keys): r for r in records}


def _label(record: Mapping[str, Any]) -> Any:
    return next((record[c] for c in _LABELS if _text(record.get(c)) is not None), None)


def diff_estates(
    older: Tables, newer: Tables, *, tables: Iterable[str] | None = None, include_volatile: bool = False
) -> pd.DataFrame:
    """One row per difference: ``table``, ``key`` (the row's key values joined by ``/``),
    ``label`` (its VM or object name), ``column`` (None for a whole row), ``before``, ``after``,
    ``change`` (added, removed, changed). Tables in only one estate are left out; so are
    :data:`VOLATILE` columns unless ``include_volatile``."""
    import pandas as pd

    wanted = [t for t in (tables or newer) if t in older and t in newer and t in KEYS]
    found: list[dict[str, Any]] = []
    for table in wanted:
        keys = KEYS[table]
        before, after = _keyed(older[table], keys), _keyed(newer[table], keys)
        columns = [c for c in newer[table].columns if c in older[table].columns and c not in keys]
        if not include_volatile:
            columns = [c for c in columns if c not in VOLATILE]
        for key in sorted(set(before) | set(after), key=str):
            text = "/".join("" if k is None else str(k) for k in key)
            if key not in before:
                found.append(
                    {
                        "table": table,
                        "key": text,
                        "label": _label(after[key]),
                        "column": None,
                        "before": None,
                        "after": None,
                        "change": "added",
                    }
                )
            elif key not in after:
                found.append(
                    {
                        "table": table,
                        "key": text,
                        "label": _label(before[key]),
                        "column": None,
                        "before": None,
                        "after": None,
                        "change": "removed",
                    }
                )
            else:
                old, new = before[key], after[key]
                for column in columns:
                    a, b = _text(old.get(column)), _text(new.get(column))
                    if a != b:
                        found.append(
                            {
                                "table": table,
                                "key": text,
                                "label": _label(new),
                                "column": column,
                                "before": None if a is None else str(a),
                                "after": None if b is None else str(b),
                                "change": "changed",
                            }
                        )
    frame = pd.DataFrame(found, columns=["table", "key", "label", "column", "before", "after", "change"])
    return frame.astype({c: "string" for c in frame.columns if c != "change"}).astype(
        {"change": pd.CategoricalDtype(["added", "removed", "changed"])}
    )
