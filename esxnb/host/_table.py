"""The ``hosts()`` table: one row per host in the connection's scope."""

from __future__ import annotations

from .._tables import Column, Row, TableSpec, as_int
from .._vocabulary import CONNECTION_STATES, HOST_POWER_STATES

__all__ = ["HOSTS", "host_path"]


def host_path(row: Row) -> str | None:
    """The host's vpx:// URI path: ``datacenter/compute resource[/host]`` (a host of a cluster is named)."""
    name, cr_path, cluster, dc_path = row.host_place()
    parts = [p for p in (dc_path, cr_path) if p]
    if cluster is not None and name:
        parts.append(name)
    return "/".join(parts) if parts else None


def _memory_mib(row: Row) -> int | None:
    memory = as_int(row.get("summary.hardware.memorySize"))
    return memory // (1024 * 1024) if memory is not None else None


def _vm_count(row: Row) -> int:
    vms = row.get("vm")
    return len(vms) if isinstance(vms, list) else 0


HOSTS = TableSpec(
    name="hosts",
    types=("HostSystem",),
    paths=(
        "runtime.connectionState",
        "runtime.powerState",
        "runtime.inMaintenanceMode",
        "vm",
        "summary.hardware.numCpuCores",
        "summary.hardware.cpuMhz",
        "summary.hardware.memorySize",
    ),
    columns=(
        Column("name", value=lambda row: row.host_place()[0]),
        Column("datacenter", value=lambda row: row.host_place()[3]),
        Column("cluster", value=lambda row: row.host_place()[2]),
        Column("compute_resource", value=lambda row: row.host_place()[1]),
        Column("path", value=host_path),
        Column("connection_state", CONNECTION_STATES, path="runtime.connectionState"),
        Column("power_state", HOST_POWER_STATES, path="runtime.powerState"),
        Column("maintenance_mode", "boolean", path="runtime.inMaintenanceMode"),
        Column("vms", "Int64", value=_vm_count),
        Column("cpu_cores", "Int64", value=lambda row: as_int(row.get("summary.hardware.numCpuCores"))),
        Column("cpu_mhz", "Int64", value=lambda row: as_int(row.get("summary.hardware.cpuMhz"))),
        Column("memory_mib", "Int64", value=_memory_mib),
        Column("moref", value=lambda row: row.ref.value),
    ),
    sort=("datacenter", "path", "moref"),
    keep=lambda row: row.structure.within(row.ref, row.extra["scope"]),
    doc="One row per host in the connection's scope.",
)
