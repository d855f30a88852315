"""How a table is declared: a managed-object type, the property paths it needs, its columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._fastpc import Ref
from ._structure import Structure

__all__ = ["Column", "TableSpec", "Row", "as_int", "as_time", "ref_or_none"]


def as_int(value: Any) -> int | None:
    """An integer column's value (None for unset, booleans and what is not a number)."""
    if value.__class__ is int:
        return value
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_time(value: Any) -> dt.datetime | None:
    """An xsd:dateTime column's value as an aware datetime (None when unset or unreadable)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def ref_or_none(value: Any) -> Ref | None:
    return value if isinstance(value, Ref) else None


class Row:
    """One object (or one expanded item of it) while its columns are computed.

    ``props`` holds the decoded properties by path, ``item`` the expanded element (one disk,
    one NIC, ...) or None, ``structure`` the inventory paths of the same retrieval. Values
    that several columns share are computed once per row through :meth:`once`.
    """

    __slots__ = ("ref", "props", "item", "structure", "extra", "_cache")

    def __init__(
        self, ref: Ref, props: dict[str, Any], structure: Structure, extra: dict[str, Any], item: Any = None
    ) -> None:
        self.ref = ref
        self.props = props
        self.item = item
        self.structure = structure
        self.extra = extra
        self._cache: dict[str, Any] = {}

    def get(self, path: str) -> Any:
        return self.props.get(path)

    def ref_at(self, path: str) -> Ref | None:
        return ref_or_none(self.props.get(path))

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked for in this row, the cached value after."""
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = compute()
            return value

    def per_object(self, key: str, compute: Callable[[], Any]) -> Any:
        """Like :meth:`once`, but shared by every row of the same object in this read (the
        expanded rows of one VM, in every table): e.g. its devices by key."""
        cache = self.extra.setdefault("_per_object", {})
        slot = (self.ref, key)
        try:
            return cache[slot]
        except KeyError:
            value = cache[slot] = compute()
            return value

    def host_place(self, path: str = "runtime.host") -> tuple[str | None, str | None, str | None, str | None]:
        """``(host, compute resource, cluster, datacenter)`` of the host at ``path`` (or this host)."""
        host = self.ref if self.ref.type == "HostSystem" else self.ref_at(path)
        return self.structure.host_place(host)

    def datacenter_path(self) -> str | None:
        """The object's datacenter path: through its host, else through its parents."""
        placed = self.host_place()[3]
        if placed is not None:
            return placed
        return self.structure.datacenter_path(self.structure.datacenter_of(self.ref_at("parent") or self.ref))


@dataclass(frozen=True)
class Column:
    """One column: ``name`` (snake_case, unit in the name), ``dtype`` (a pandas dtype, or the
    categories of a categorical column; values outside them are appended) and ``value``, a
    function of the :class:`Row`. ``path`` is a shortcut for ``value=lambda row: row.get(path)``."""

    name: str
    dtype: str | Sequence[str] = "string"
    value: Callable[[Row], Any] | None = None
    path: str | None = None
    doc: str = ""

    def compute(self, row: Row) -> Any:
        return self.reader()(row)

    def reader(self) -> Callable[[Row], Any]:
        """The function computing this column's value from a row."""
        if self.value is not None:
            return self.value
        path = self.path or self.name
        return lambda row: row.props.get(path)


@dataclass(frozen=True)
class TableSpec:
    """A table: one row per object of ``types`` (the first is the table's managed-object type)
    seen by the retrieval, or per item that ``expand(row)`` yields for it.

    ``paths`` are the properties the columns read; ``keep(row)`` drops rows; rows are sorted
    by the ``sort`` columns (as text, unset first). ``needs`` names extra data the reader
    adds: ``"autostart"`` (host autostart settings, for ``Row.extra["autostart"]``) and
    ``"custom_fields"`` (the custom attribute definitions, read in the same call: the table
    then gets one string column per attribute its objects may carry, named ``attr_<name>``,
    from the objects' ``customValue``, with ``df.attrs["custom_attributes"]`` mapping each
    column to the attribute's own name).
    """

    name: str
    types: tuple[str, ...]
    paths: tuple[str, ...]
    columns: tuple[Column, ...]
    sort: tuple[str, ...] = ()
    keep: Callable[[Row], bool] | None = None
    expand: Callable[[Row], Iterable[Any]] | None = None
    needs: frozenset[str] = field(default_factory=frozenset)
    doc: str = ""

    @property
    def type(self) -> str:
        return self.types[0]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]
