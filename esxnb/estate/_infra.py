"""The infrastructure tables: ``clusters`` (RVTools' vCluster), ``resource_pools`` (vRP) and
``datastores`` (vDatastore). Hosts (vHost) are ``Connection.hosts()``."""

from __future__ import annotations

from typing import Any

from .._tables import CUSTOM_VALUES, Column, Row, TableSpec, custom_values
from ._values import flag, get, items, mib, number

__all__ = ["CLUSTERS", "RESOURCE_POOLS", "DATASTORES"]


def _summary(part: str) -> Any:
    return lambda row: number(get(row.get("summary"), part))


def _config(*path: str) -> Any:
    return lambda row: get(row.get("configurationEx"), *path)


CLUSTERS = TableSpec(
    name="clusters",
    types=("ClusterComputeResource",),
    paths=("name", "summary", "configurationEx", "overallStatus", "host", "datastore"),
    columns=(
        Column("name"),
        Column("datacenter", value=lambda row: row.datacenter_path()),
        Column("overall_status", path="overallStatus"),
        Column("hosts", "Int64", value=_summary("numHosts")),
        Column("effective_hosts", "Int64", value=_summary("numEffectiveHosts")),
        Column("cpu_cores", "Int64", value=_summary("numCpuCores")),
        Column("cpu_threads", "Int64", value=_summary("numCpuThreads")),
        Column("total_cpu_mhz", "Int64", value=_summary("totalCpu")),
        Column("effective_cpu_mhz", "Int64", value=_summary("effectiveCpu")),
        Column("total_memory_mib", "Float64", value=lambda row: mib(get(row.get("summary"), "totalMemory"))),
        Column("effective_memory_mib", "Int64", value=_summary("effectiveMemory")),
        Column("ha_enabled", "boolean", value=lambda row: flag(_config("dasConfig", "enabled")(row))),
        Column(
            "ha_admission_control",
            "boolean",
            value=lambda row: flag(_config("dasConfig", "admissionControlEnabled")(row)),
        ),
        Column(
            "ha_failover_level", "Int64", value=lambda row: number(_config("dasConfig", "failoverLevel")(row))
        ),
        Column("ha_host_monitoring", value=_config("dasConfig", "hostMonitoring")),
        Column("drs_enabled", "boolean", value=lambda row: flag(_config("drsConfig", "enabled")(row))),
        Column("drs_behavior", value=_config("drsConfig", "defaultVmBehavior")),
        Column("dpm_enabled", "boolean", value=lambda row: flag(_config("dpmConfigInfo", "enabled")(row))),
        Column("datastores", "Int64", value=lambda row: len(items(row.get("datastore")))),
        Column("moref", value=lambda row: row.ref.value),
    ),
    sort=("datacenter", "name", "moref"),
    doc="One row per cluster: totals, effective resources, HA/DRS/DPM settings (RVTools' vCluster).",
)


def _allocation(kind: str, part: str, to_int: bool = True) -> Any:
    def value(row: Row) -> Any:
        found = get(row.get("config"), f"{kind}Allocation", *part.split("."))
        return number(found) if to_int else (flag(found) if part == "expandableReservation" else found)

    return value


def _owner(row: Row) -> str | None:
    cr = row.ref_at("owner")
    return row.structure.name(cr)


RESOURCE_POOLS = TableSpec(
    name="resource_pools",
    types=("ResourcePool",),
    paths=("name", "parent", "owner", "config", "vm", "resourcePool", "summary.quickStats"),
    columns=(
        Column("name"),
        Column("path", value=lambda row: row.structure.pool_path(row.ref)),
        Column("owner", value=_owner),
        Column("datacenter", value=lambda row: row.datacenter_path()),
        Column("vms", "Int64", value=lambda row: len(items(row.get("vm")))),
        Column("child_pools", "Int64", value=lambda row: len(items(row.get("resourcePool")))),
        Column("cpu_reservation_mhz", "Int64", value=_allocation("cpu", "reservation")),
        Column("cpu_limit_mhz", "Int64", value=_allocation("cpu", "limit")),
        Column("cpu_expandable", "boolean", value=_allocation("cpu", "expandableReservation", False)),
        Column("cpu_shares_level", value=_allocation("cpu", "shares.level", False)),
        Column("cpu_shares", "Int64", value=_allocation("cpu", "shares.shares")),
        Column("memory_reservation_mib", "Int64", value=_allocation("memory", "reservation")),
        Column("memory_limit_mib", "Int64", value=_allocation("memory", "limit")),
        Column("memory_expandable", "boolean", value=_allocation("memory", "expandableReservation", False)),
        Column("memory_shares_level", value=_allocation("memory", "shares.level", False)),
        Column("memory_shares", "Int64", value=_allocation("memory", "shares.shares")),
        Column("moref", value=lambda row: row.ref.value),
    ),
    sort=("datacenter", "path", "moref"),
    doc="One row per resource pool (root pools included): allocations and contents (RVTools' vRP).",
)


def _free_pct(row: Row) -> float | None:
    capacity, free = number(row.get("summary.capacity")), number(row.get("summary.freeSpace"))
    return None if not capacity or free is None else round(100 * free / capacity, 1)


def _provisioned(row: Row) -> float | None:
    capacity, free = number(row.get("summary.capacity")), number(row.get("summary.freeSpace"))
    if capacity is None or free is None:
        return None
    return mib(capacity - free + (number(row.get("summary.uncommitted")) or 0))


def _datastore_datacenter(row: Row) -> str | None:
    return row.structure.datacenter_path(row.structure.datacenter_of(row.ref_at("parent")))


DATASTORES = TableSpec(
    name="datastores",
    types=("Datastore",),
    paths=(
        "name",
        "parent",
        "summary.type",
        "summary.capacity",
        "summary.freeSpace",
        "summary.uncommitted",
        "summary.url",
        "summary.accessible",
        "summary.maintenanceMode",
        "vm",
        "host",
        "customValue",
    ),
    columns=(
        Column("name"),
        Column("datacenter", value=_datastore_datacenter),
        Column("type", path="summary.type"),
        Column("capacity_mib", "Float64", value=lambda row: mib(row.get("summary.capacity"))),
        Column("free_mib", "Float64", value=lambda row: mib(row.get("summary.freeSpace"))),
        Column("free_pct", "Float64", value=_free_pct),
        Column("provisioned_mib", "Float64", value=_provisioned),
        Column("uncommitted_mib", "Float64", value=lambda row: mib(row.get("summary.uncommitted"))),
        Column("vms", "Int64", value=lambda row: len(items(row.get("vm")))),
        Column("hosts", "Int64", value=lambda row: len(items(row.get("host")))),
        Column("url", path="summary.url"),
        Column("accessible", "boolean", value=lambda row: flag(row.get("summary.accessible"))),
        Column("maintenance_mode", path="summary.maintenanceMode"),
        Column("moref", value=lambda row: row.ref.value),
        Column(CUSTOM_VALUES, "object", value=custom_values),
    ),
    sort=("datacenter", "name", "moref"),
    needs=frozenset({"custom_fields"}),
    doc="One row per datastore: type, capacity, free, provisioned, VM and host counts (RVTools' vDatastore).",
)
