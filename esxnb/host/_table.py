"""The ``hosts()`` table: one row per host in the connection's scope."""

from __future__ import annotations

from typing import Any

from .._tables import CUSTOM_VALUES, Column, Row, TableSpec, as_int, as_time, custom_values
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


def _usage_pct(row: Row, used_path: str, total: int | None) -> float | None:
    used = as_int(row.get(used_path))
    return None if used is None or not total else round(100 * used / total, 1)


def _cpu_capacity_mhz(row: Row) -> int | None:
    mhz, cores = as_int(row.get("summary.hardware.cpuMhz")), as_int(row.get("summary.hardware.numCpuCores"))
    return None if mhz is None or cores is None else mhz * cores


def _product(part: str) -> Any:
    return (
        lambda row: (row.get("config.product") or {}).get(part)
        if isinstance(row.get("config.product"), dict)
        else None
    )


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
        "summary.hardware.cpuModel",
        "summary.hardware.numCpuPkgs",
        "summary.hardware.numCpuThreads",
        "summary.hardware.vendor",
        "summary.hardware.model",
        "summary.quickStats.overallCpuUsage",
        "summary.quickStats.overallMemoryUsage",
        "summary.quickStats.uptime",
        "config.product",
        "hardware.systemInfo.serialNumber",
        "hardware.biosInfo.biosVersion",
        "runtime.bootTime",
        "overallStatus",
        "customValue",
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
        Column("cpu_model", path="summary.hardware.cpuModel"),
        Column("cpu_sockets", "Int64", value=lambda row: as_int(row.get("summary.hardware.numCpuPkgs"))),
        Column("cpu_threads", "Int64", value=lambda row: as_int(row.get("summary.hardware.numCpuThreads"))),
        Column(
            "cpu_usage_mhz", "Int64", value=lambda row: as_int(row.get("summary.quickStats.overallCpuUsage"))
        ),
        Column(
            "cpu_usage_pct",
            "Float64",
            value=lambda row: _usage_pct(row, "summary.quickStats.overallCpuUsage", _cpu_capacity_mhz(row)),
        ),
        Column(
            "memory_usage_mib",
            "Int64",
            value=lambda row: as_int(row.get("summary.quickStats.overallMemoryUsage")),
        ),
        Column(
            "memory_usage_pct",
            "Float64",
            value=lambda row: _usage_pct(row, "summary.quickStats.overallMemoryUsage", _memory_mib(row)),
        ),
        Column("esxi_version", value=_product("version")),
        Column("esxi_build", value=_product("build")),
        Column("product", value=_product("fullName")),
        Column("vendor", path="summary.hardware.vendor"),
        Column("model", path="summary.hardware.model"),
        Column("serial_number", path="hardware.systemInfo.serialNumber"),
        Column("bios_version", path="hardware.biosInfo.biosVersion"),
        Column("boot_time", "datetime64[ns, UTC]", value=lambda row: as_time(row.get("runtime.bootTime"))),
        Column("overall_status", path="overallStatus"),
        Column("moref", value=lambda row: row.ref.value),
        Column(CUSTOM_VALUES, "object", value=custom_values),
    ),
    sort=("datacenter", "path", "moref"),
    keep=lambda row: row.structure.within(row.ref, row.extra["scope"]),
    needs=frozenset({"custom_fields"}),
    doc="One row per host in the connection's scope (RVTools' vHost), custom attributes as attr_* columns.",
)
