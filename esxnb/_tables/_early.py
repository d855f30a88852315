"""VM table columns computed page by page while the retrieval goes on.

A bulk read waits for the server between pages; the VM tables' columns that need nothing but
the VM's own properties are computed in those waits, one page at a time, instead of all at the
end. What needs the whole read (inventory paths through :class:`Structure`, host autostart
settings, other objects of the retrieval) cannot be known yet: reaching for it raises
:class:`_NotYet`, and that column (or the whole table, when its expansion or filter reaches
for it) is computed at the end as before. The frames are the same either way; only the time
they are computed in differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._fastpc import Ref, Retrieval
from ._frame import build_frame
from ._read import Reading, object_rows
from ._spec import Row, TableSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EarlyColumns"]

_VM = ("VirtualMachine",)


class _NotYet(BaseException):
    """A value needs the whole read. A BaseException, so that a column's own ``except
    Exception`` cannot take it for a failure and answer None."""


class _Unknown:
    """The structure while the read goes on: every use of it is a :class:`_NotYet`."""

    def __getattr__(self, name: str) -> Any:
        raise _NotYet(name)


class _EarlyExtra(dict):  # type: ignore[type-arg]
    """``Row.extra`` while the read goes on: entries computed later are a :class:`_NotYet`."""

    def __missing__(self, key: str) -> Any:
        raise _NotYet(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


class EarlyColumns:
    """A :class:`~esxnb._tables._read.PageSink` that computes the VM tables' columns as the
    pages come, then :meth:`frame` builds each table from them and the whole read."""

    def __init__(self, tables: Sequence[TableSpec], scope: Ref) -> None:
        self._specs = [spec for spec in tables if spec.types == _VM]
        self._scope = scope
        self.reset()

    def reset(self) -> None:
        self._extra = _EarlyExtra(scope=self._scope)
        self._rows: dict[str, list[Row]] = {spec.name: [] for spec in self._specs}
        self._columns: dict[str, dict[str, list[Any]]] = {
            spec.name: {column.name: [] for column in spec.columns} for spec in self._specs
        }
        self._late: set[str] = set()  # tables whose rows need the whole read

    def page(self, page: Retrieval) -> None:
        table = page.tables.get(_VM[0])
        if table is None:
            return
        unknown = _Unknown()
        for spec in self._specs:
            if spec.name in self._late:
                continue
            try:
                rows = object_rows(spec, table.refs, table.rows, unknown, self._extra)
            except _NotYet:
                self._late.add(spec.name)
                continue
            self._rows[spec.name].extend(rows)
            columns = self._columns[spec.name]
            for column in spec.columns:
                values = columns.get(column.name)
                if values is None:
                    continue  # computed at the end
                compute = column.reader()
                try:
                    values.extend([compute(row) for row in rows])
                except _NotYet:
                    del columns[column.name]

    def frame(self, spec: TableSpec, reading: Reading, extra: dict[str, Any]) -> pd.DataFrame:
        """``spec``'s DataFrame: the columns computed early, the others now."""
        if spec.name not in self._rows or spec.name in self._late:
            return build_frame(spec, reading.rows(spec, extra))
        for key, value in self._extra.items():  # per-object values computed early stay
            extra.setdefault(key, value)
        rows = self._rows[spec.name]
        for row in rows:
            row.structure = reading.structure
            row.extra = extra
        return build_frame(spec, rows, self._columns[spec.name])
