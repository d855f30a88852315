"""Custom attributes (``availableField`` / ``customValue``) as extra columns, as RVTools shows
them: one string column per attribute definition that applies to the table's object type."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._spec import Row, TableSpec

if TYPE_CHECKING:
    import pandas as pd

    from .._fastpc import Retrieval

__all__ = ["custom_field_definitions", "add_custom_columns", "CUSTOM_VALUES"]

#: The hidden column holding each row's ``{attribute key: value}`` until it is spread out.
CUSTOM_VALUES = "_custom_values"


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def custom_field_definitions(result: Retrieval) -> list[tuple[str, str, str | None]]:
    """``(key, name, managed object type or None for every type)`` of each definition."""
    table = result.table("CustomFieldsManager")
    found = []
    for row in table.rows:
        for field in _items(row.get("field")):
            key, name = _get(field, "key"), _get(field, "name")
            if key is not None and name:
                found.append((str(key), str(name), _get(field, "managedObjectType")))
    return found


def custom_values(row: Row) -> dict[str, str]:
    """The row's object's ``customValue`` as ``{key: value}``."""
    return {str(_get(v, "key")): str(_get(v, "value") or "") for v in _items(row.get("customValue"))}


def column_name(name: str) -> str:
    return "attr_" + (re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "unnamed")


def add_custom_columns(
    frame: pd.DataFrame, spec: TableSpec, definitions: list[tuple[str, str, str | None]]
) -> pd.DataFrame:
    """``frame`` with its hidden custom-values column spread into one column per definition."""
    import pandas as pd

    if CUSTOM_VALUES not in frame.columns:
        return frame
    values = frame.pop(CUSTOM_VALUES)
    names: dict[str, str] = {}
    for key, name, mo_type in definitions:
        if mo_type not in (None, "", spec.type) and not spec.type.endswith(str(mo_type)):
            continue
        column = column_name(name)
        if column in frame.columns or column in names:
            continue
        frame[column] = pd.array(
            [v.get(key) if isinstance(v, dict) else None for v in values], dtype="string"
        )
        names[column] = name
    frame.attrs["custom_attributes"] = names
    return frame
