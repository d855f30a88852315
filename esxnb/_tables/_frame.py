"""Typed pandas DataFrames from declared columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ._spec import Row, TableSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_frame", "empty_frame", "records_frame"]


def _categorical(values: list[Any], known: Sequence[str]) -> Any:
    import pandas as pd

    extra = sorted({v for v in values if v is not None and v not in known})
    return pd.Categorical(values, categories=[*known, *extra])


def _typed(values: list[Any], dtype: str | Sequence[str]) -> Any:
    import pandas as pd

    if isinstance(dtype, str):
        return pd.array(values, dtype=dtype)
    return _categorical(values, dtype)


def _order(spec: TableSpec, columns: dict[str, list[Any]]) -> list[int]:
    count = len(next(iter(columns.values()))) if columns else 0
    keys = [columns[name] for name in spec.sort]
    if not keys:
        return list(range(count))
    return sorted(range(count), key=lambda i: tuple("" if k[i] is None else str(k[i]) for k in keys))


def build_frame(spec: TableSpec, rows: list[Row]) -> pd.DataFrame:
    """The DataFrame of ``spec`` for ``rows``: every column computed, typed and sorted."""
    import pandas as pd

    columns: dict[str, list[Any]] = {column.name: [] for column in spec.columns}
    computed = [(columns[column.name].append, column.reader()) for column in spec.columns]
    for row in rows:
        for append, compute in computed:
            append(compute(row))
    order = _order(spec, columns)
    return pd.DataFrame(
        {
            column.name: _typed([columns[column.name][i] for i in order], column.dtype)
            for column in spec.columns
        }
    )


def empty_frame(spec: TableSpec) -> pd.DataFrame:
    """The table with no rows: its columns and dtypes."""
    return build_frame(spec, [])


def records_frame(spec: TableSpec, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The DataFrame of ``spec`` for tables that do not come from the PropertyCollector
    (datastore searches, host network configuration): one record per row, by column name."""
    rows = [Row(cast(Any, None), dict(record), cast(Any, None), {}) for record in records]
    return build_frame(spec, rows)
