"""The ``scheduler()`` table: each domain's CPU scheduler parameters."""

from __future__ import annotations

from .._tables import Column, Row, TableSpec, as_int
from .._vocabulary import SHARES_LEVEL_VALUES, SHARES_LEVELS
from ..domain import vm_name

__all__ = ["SCHEDULER"]


def _shares_value(row: Row) -> int | None:
    level = row.get("config.cpuAllocation.shares.level")
    if level is None:
        return None
    return SHARES_LEVEL_VALUES.get(level, as_int(row.get("config.cpuAllocation.shares.shares")))


SCHEDULER = TableSpec(
    name="scheduler",
    types=("VirtualMachine",),
    paths=(
        "name",
        "config.uuid",
        "runtime.host",
        "config.cpuAllocation.reservation",
        "config.cpuAllocation.limit",
        "config.cpuAllocation.shares.shares",
        "config.cpuAllocation.shares.level",
    ),
    columns=(
        Column("name", value=vm_name),
        Column("uuid", path="config.uuid"),
        Column("host", value=lambda row: row.host_place()[0]),
        Column("datacenter", value=lambda row: row.host_place()[3]),
        Column(
            "reservation_mhz", "Int64", value=lambda row: as_int(row.get("config.cpuAllocation.reservation"))
        ),
        Column("limit_mhz", "Int64", value=lambda row: as_int(row.get("config.cpuAllocation.limit"))),
        Column("shares", "Int64", value=lambda row: as_int(row.get("config.cpuAllocation.shares.shares"))),
        Column("shares_level", SHARES_LEVELS, path="config.cpuAllocation.shares.level"),
        Column("shares_value", "Int64", value=_shares_value),
        Column("moref", value=lambda row: row.ref.value),
    ),
    sort=("datacenter", "host", "name", "moref"),
    doc="One row per domain with the spec's CPU scheduler parameters.",
)
