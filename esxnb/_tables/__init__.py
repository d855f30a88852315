"""The table kit: tables declared as data, read in one bulk retrieval, built as typed DataFrames.

A table is a :class:`TableSpec`: the managed-object type, the property paths it needs, its
:class:`Column` s (name with unit, dtype, a function of the :class:`Row`), and optionally a
per-object expansion (one row per disk, per NIC, ...). :func:`read_tables` merges the paths
of every table asked for into ONE PropertyCollector retrieval, computes inventory paths once
from one parent map (:class:`Structure`), and returns one DataFrame per table, each with
``df.attrs`` ``round_trips`` (HTTP requests of the whole read), ``seconds`` and ``server``.
The VM tables' columns that need only the VM's own properties are computed page by page while
the read waits for the server; the others at the end (``_early``).

Declaring a table::

    VMS_BRIEF = TableSpec(
        name="vms_brief",
        types=("VirtualMachine",),
        paths=("name", "config.hardware.memoryMB", "runtime.host"),
        columns=(
            Column("name"),
            Column("memory_mib", "Int64", path="config.hardware.memoryMB"),
            Column("host", value=lambda row: row.host_place()[0]),
            Column("moref", value=lambda row: row.ref.value),
        ),
        sort=("host", "name"),
    )
    read_table(conn, VMS_BRIEF)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._custom import CUSTOM_VALUES, add_custom_columns, custom_field_definitions, custom_values
from ._early import EarlyColumns
from ._frame import build_frame, empty_frame, records_frame
from ._gc import collector_paused
from ._live import LiveTable
from ._missing import refused_for
from ._read import Reading, filter_specs, read, scope_ref
from ._spec import Column, Row, TableSpec, as_int, as_time, ref_or_none
from ._structure import Structure

if TYPE_CHECKING:
    import pandas as pd

    from .._protocol import ConnectionLike

__all__ = [
    "Column",
    "TableSpec",
    "Row",
    "Structure",
    "Reading",
    "read_tables",
    "read_table",
    "filter_specs",
    "empty_frame",
    "build_frame",
    "records_frame",
    "as_int",
    "as_time",
    "ref_or_none",
    "scope_ref",
    "CUSTOM_VALUES",
    "LiveTable",
    "custom_values",
]


def read_tables(
    conn: ConnectionLike, tables: Sequence[TableSpec], *, vms: Sequence[Any] | None = None
) -> dict[str, pd.DataFrame]:
    """``{name: DataFrame}`` for every table in ``tables``, from one bulk retrieval (of the
    VMs in scope, or of ``vms`` only: pyVmomi VirtualMachine objects)."""
    with collector_paused():
        scope = scope_ref(conn)
        early = EarlyColumns(tables, scope)  # VM columns computed while the pages come
        reading = read(conn, tables, vms, pages=early)
        extra = {"autostart": reading.structure.autostart(), "scope": scope}
        definitions = custom_field_definitions(reading.structure.result)
        frames = {}
        for spec in tables:
            frame = early.frame(spec, reading, extra)
            if "custom_fields" in spec.needs:
                frame = add_custom_columns(frame, spec, definitions)
            frames[spec.name] = frame
    attrs = reading.attrs()
    for spec in tables:
        frame = frames[spec.name]
        frame.attrs.update(attrs)
        frame.attrs["missing"] = refused_for(spec, reading.structure.result.refused)
    return frames


def read_table(conn: ConnectionLike, spec: TableSpec, *, vms: Sequence[Any] | None = None) -> pd.DataFrame:
    """One table's DataFrame (see :func:`read_tables`)."""
    return read_tables(conn, [spec], vms=vms)[spec.name]
