"""Applying an edited ``scheduler()`` DataFrame: every row validated before anything changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import errors
from ..domain import Domain, display_name, list_vms, normalize_uuid
from .._scheduling import (
    EDITABLE_COLUMNS,
    diff_frame,
    is_missing,
    settings_from_allocation,
    validate,
    wanted_from_row,
)

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["apply_frame"]


def _label(row: Mapping[str, Any], position: int) -> str:
    name = row.get("name")
    if name is not None and not is_missing(name):
        return f"row {position} ({name})"
    uuid = row.get("uuid")
    return f"row {position} ({uuid})" if uuid is not None and not is_missing(uuid) else f"row {position}"


@dataclass
class _RowPlan:
    label: str
    name: str
    uuid: str
    vm: Any
    changes: dict[str, tuple[int, Any]]
    values: dict[str, int]


def _plan_rows(conn: ConnectionLike, edited: Any) -> list[_RowPlan]:
    if "uuid" not in edited.columns and "name" not in edited.columns:
        raise errors.ValidationError(
            "the scheduler DataFrame needs a 'uuid' or 'name' column to tell the domains apart "
            f"(it has: {', '.join(map(str, edited.columns))})"
        )
    if not any(column in edited.columns for column in (*EDITABLE_COLUMNS, "shares_level", "shares")):
        raise errors.ValidationError(
            f"the scheduler DataFrame has none of the editable columns {', '.join(EDITABLE_COLUMNS)}"
        )
    vms = list_vms(conn, ("name", "config.uuid", "config.cpuAllocation"))
    by_uuid: dict[str, list[Any]] = {}
    by_name: dict[str, list[Any]] = {}
    for vm, props in vms.items():
        by_uuid.setdefault(normalize_uuid(str(props.get("config.uuid") or "")) or "", []).append(vm)
        by_name.setdefault(display_name(str(props.get("name", ""))), []).append(vm)
    problems: list[str] = []
    plans: list[_RowPlan] = []
    seen: dict[Any, str] = {}
    for position, (_index, series) in enumerate(edited.iterrows()):
        row = series.to_dict()
        label = _label(row, position)
        try:
            uuid_text = row.get("uuid")
            if uuid_text is not None and not is_missing(uuid_text):
                key = normalize_uuid(str(uuid_text))
                if key is None:
                    raise errors.ValidationError(f"uuid {uuid_text!r} is not a UUID")
                candidates = by_uuid.get(key, [])
                what = f"uuid {key}"
                if len(candidates) > 1 and row.get("name") is not None:
                    candidates = [
                        vm for vm in candidates if display_name(str(vms[vm].get("name"))) == row.get("name")
                    ]
            else:
                candidates = by_name.get(str(row.get("name")), [])
                what = f"name {row.get('name')!r}"
            if not candidates:
                raise errors.NotFoundError(f"no domain with {what} on the server")
            if len(candidates) > 1:
                raise errors.ValidationError(f"several domains match {what}")
            vm = candidates[0]
            if vm in seen:
                raise errors.ValidationError(f"the same domain as {seen[vm]}")
            seen[vm] = label
            props = vms[vm]
            name = display_name(str(props.get("name", "")))
            current = settings_from_allocation(props.get("config.cpuAllocation"))
            changes = diff_frame(wanted_from_row(row, current), current)
            values = (
                validate(
                    **{field: new for field, (_old, new) in changes.items()}, current=current, domain=name
                )
                if changes
                else {}
            )
            uuid = normalize_uuid(str(props.get("config.uuid") or "")) or str(props.get("config.uuid"))
            plans.append(_RowPlan(label, name, uuid, vm, changes, values))
        except (errors.ValidationError, errors.NotFoundError) as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise errors.ValidationError(
            f"{len(problems)} row(s) of the scheduler DataFrame cannot be applied; nothing was changed:\n  "
            + "\n  ".join(problems)
        )
    return plans


def apply_frame(conn: ConnectionLike, edited: Any, *, dry_run: bool = True) -> Any:
    """Preview or apply an edited ``scheduler()`` DataFrame (see ``Connection.apply_scheduler``)."""
    import pandas as pd

    if not isinstance(edited, pd.DataFrame):
        raise errors.ValidationError(f"apply_scheduler takes a pandas DataFrame, not {type(edited).__name__}")
    plans = _plan_rows(conn, edited)
    if dry_run:
        rows = [
            {"domain": p.name, "field": field, "old": old, "new": p.values[field]}
            for p in plans
            for field, (old, _new) in p.changes.items()
        ]
        preview = pd.DataFrame(rows, columns=["domain", "field", "old", "new"])
        return preview.astype({"domain": "string", "field": "string", "old": "Int64", "new": "Int64"})
    outcomes = []
    for p in plans:
        if not p.values:
            outcomes.append({"domain": p.name, "uuid": p.uuid, "status": "unchanged", "message": ""})
            continue
        summary = ", ".join(f"{field} {old} -> {p.values[field]}" for field, (old, _new) in p.changes.items())
        try:
            Domain(conn, p.vm, name=p.name, uuid=p.uuid).set_scheduler(**p.values)
        except errors.EsxnbError as exc:
            outcomes.append({"domain": p.name, "uuid": p.uuid, "status": "error", "message": str(exc)})
        else:
            outcomes.append({"domain": p.name, "uuid": p.uuid, "status": "ok", "message": summary})
    result = pd.DataFrame(outcomes, columns=["domain", "uuid", "status", "message"])
    result = result.astype({"domain": "string", "uuid": "string", "message": "string"})
    result["status"] = pd.Categorical(result["status"], categories=["ok", "error", "unchanged"])
    return result
