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


def _sort_text(value: Any) -> str:
    return "" if value is None else value if value.__class__ is str else str(value)


def build_frame(
    spec: TableSpec, rows: list[Row], computed: Mapping[str, list[Any]] | None = None
) -> pd.DataFrame:
    """The DataFrame of ``spec`` for ``rows``: every column computed (but those ``computed``
    already holds, in the order of ``rows``), typed and sorted."""
    import pandas as pd

    columns: dict[str, list[Any]] = {}
    for column in spec.columns:  # column by column: one comprehension each
        done = computed.get(column.name) if computed is not None else None
        if done is None:
            compute = column.reader()
            done = [compute(row) for row in rows]
        columns[column.name] = done
    frame = pd.DataFrame({column.name: _typed(columns[column.name], column.dtype) for column in spec.columns})
    if spec.sort and len(rows) > 1:
        keys = list(zip(*([_sort_text(value) for value in columns[name]] for name in spec.sort)))
        order = sorted(range(len(rows)), key=keys.__getitem__)
        if any(i != at for at, i in enumerate(order)):
            frame = frame.take(order).reset_index(drop=True)
    return frame


def empty_frame(spec: TableSpec) -> pd.DataFrame:
    """The table with no rows: its columns and dtypes."""
    return build_frame(spec, [])


def records_frame(spec: TableSpec, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The DataFrame of ``spec`` for tables that do not come from the PropertyCollector
    (datastore searches, host network configuration): one record per row, by column name."""
    rows = [Row(cast(Any, None), dict(record), cast(Any, None), {}) for record in records]
    return build_frame(spec, rows)
