"""The ``domains()`` table: one row per VM in the connection's scope."""

from __future__ import annotations

import re
from typing import Any

from .._tables import Column, Row, TableSpec, as_int
from .._vocabulary import DOMAIN_STATES, TOOLS_STATUSES, domain_state, tools_running
from ._names import display_name, domain_id

__all__ = ["DOMAINS", "vm_name", "domain_id", "placement_columns"]

_DATASTORE = re.compile(r"^\[([^\]]*)\]")


def vm_name(row: Row) -> str | None:
    """The VM's name as users write it (the server escapes ``/``, ``\\`` and ``%``)."""
    value = row.get("name")
    return display_name(value) if isinstance(value, str) else None


def _state(row: Row) -> str:
    return row.once("state", lambda: domain_state(row.get("runtime.powerState")))


def _memory(row: Row) -> int | None:
    limit = as_int(row.get("config.memoryAllocation.limit"))
    return limit if limit is not None and limit >= 0 else as_int(row.get("config.hardware.memoryMB"))


def _datastore(row: Row) -> str | None:
    path = row.get("config.files.vmPathName")
    match = _DATASTORE.match(path) if isinstance(path, str) else None
    return match.group(1) if match else None


def _autostart(row: Row) -> Any:
    return row.extra["autostart"](row.ref, row.ref_at("runtime.host"))


def placement_columns() -> tuple[Column, ...]:
    """``host``, ``compute_resource``, ``cluster``, ``datacenter``, ``folder``, ``resource_pool``."""
    return (
        Column("host", value=lambda row: row.host_place()[0]),
        Column("compute_resource", value=lambda row: row.host_place()[1]),
        Column("cluster", value=lambda row: row.host_place()[2]),
        Column("datacenter", value=lambda row: row.datacenter_path()),
        Column("folder", value=lambda row: row.structure.folder_path(row.ref_at("parent"))),
        Column("resource_pool", value=lambda row: row.structure.pool_path(row.ref_at("resourcePool"))),
    )


DOMAINS = TableSpec(
    name="domains",
    types=("VirtualMachine",),
    paths=(
        "name",
        "config.uuid",
        "runtime.powerState",
        "config.hardware.memoryMB",
        "config.memoryAllocation.limit",
        "config.hardware.numCPU",
        "config.guestFullName",
        "config.guestId",
        "config.files.vmPathName",
        "runtime.host",
        "parent",
        "resourcePool",
        "guest.toolsStatus",
        "guest.toolsRunningStatus",
    ),
    columns=(
        Column("name", value=vm_name),
        Column("uuid", path="config.uuid"),
        Column("id", "Int64", value=lambda row: domain_id(row.ref.value, _state(row))),
        Column("state", DOMAIN_STATES, value=_state),
        Column("max_memory_mib", "Int64", value=lambda row: as_int(row.get("config.hardware.memoryMB"))),
        Column("memory_mib", "Int64", value=_memory),
        Column("vcpus", "Int64", value=lambda row: as_int(row.get("config.hardware.numCPU"))),
        Column("guest_os", path="config.guestFullName"),
        Column("guest_id", path="config.guestId"),
        Column("vmx_path", path="config.files.vmPathName"),
        Column("datastore", value=_datastore),
        *placement_columns(),
        Column("tools_status", TOOLS_STATUSES, path="guest.toolsStatus"),
        Column(
            "tools_running", "boolean", value=lambda row: tools_running(row.get("guest.toolsRunningStatus"))
        ),
        Column("autostart", "boolean", value=_autostart),
        Column("moref", value=lambda row: row.ref.value),
    ),
    sort=("datacenter", "host", "name", "moref"),
    needs=frozenset({"autostart"}),
    doc="One row per domain (VM) in the connection's scope.",
)
