"""The per-VM tables: ``vms`` (RVTools' vInfo), ``vm_cpu``, ``vm_memory`` and ``tools``."""

from __future__ import annotations

from typing import Any

from .._tables import CUSTOM_VALUES, Column, Row, TableSpec, custom_values
from .._vocabulary import TOOLS_STATUSES
from ..domain._table import placement_columns, vm_name
from ._values import flag, mib, number, when

__all__ = ["VMS", "VM_CPU", "VM_MEMORY", "TOOLS", "vm_keys"]


def vm_keys() -> tuple[Column, ...]:
    """The columns every per-VM table starts with, so tables join on ``vm_moref``."""
    return (Column("vm", value=vm_name), Column("vm_uuid", path="config.uuid"))


def _storage(row: Row, part: str) -> float | None:
    return mib(row.get(f"summary.storage.{part}"))


def _provisioned(row: Row) -> float | None:
    committed, uncommitted = (
        number(row.get("summary.storage.committed")),
        number(row.get("summary.storage.uncommitted")),
    )
    return None if committed is None else mib(committed + (uncommitted or 0))


def _sockets(row: Row) -> int | None:
    cpus, cores = (
        number(row.get("config.hardware.numCPU")),
        number(row.get("config.hardware.numCoresPerSocket")),
    )
    return None if cpus is None else cpus // max(cores or 1, 1)


def _allocation(kind: str, part: str) -> Any:
    path = f"config.{kind}Allocation.{part}"
    if part == "shares.level":
        return lambda row: row.get(path)
    return lambda row: number(row.get(path))


_TIMESTAMP = "datetime64[ns, UTC]"

VMS = TableSpec(
    name="vms",
    types=("VirtualMachine",),
    paths=(
        "name",
        "config.uuid",
        "config.instanceUuid",
        "runtime.powerState",
        "config.template",
        "configStatus",
        "overallStatus",
        "runtime.connectionState",
        "guest.guestState",
        "guestHeartbeatStatus",
        "runtime.consolidationNeeded",
        "runtime.bootTime",
        "config.createDate",
        "config.hardware.numCPU",
        "config.hardware.memoryMB",
        "summary.config.numEthernetCards",
        "summary.config.numVirtualDisks",
        "summary.storage.committed",
        "summary.storage.uncommitted",
        "summary.storage.unshared",
        "guest.ipAddress",
        "guest.hostName",
        "config.firmware",
        "config.version",
        "config.annotation",
        "config.guestFullName",
        "guest.guestFullName",
        "config.files.vmPathName",
        "runtime.host",
        "parent",
        "resourcePool",
        "customValue",
    ),
    columns=(
        Column("name", value=vm_name),
        Column("power_state", path="runtime.powerState"),
        Column("template", "boolean", value=lambda row: flag(row.get("config.template"))),
        Column("config_status", path="configStatus"),
        Column("overall_status", path="overallStatus"),
        Column("connection_state", path="runtime.connectionState"),
        Column("guest_state", path="guest.guestState"),
        Column("heartbeat", path="guestHeartbeatStatus"),
        Column(
            "consolidation_needed", "boolean", value=lambda row: flag(row.get("runtime.consolidationNeeded"))
        ),
        Column("powered_on_at", _TIMESTAMP, value=lambda row: when(row.get("runtime.bootTime"))),
        Column("created_at", _TIMESTAMP, value=lambda row: when(row.get("config.createDate"))),
        Column("vcpus", "Int64", value=lambda row: number(row.get("config.hardware.numCPU"))),
        Column("memory_mib", "Int64", value=lambda row: number(row.get("config.hardware.memoryMB"))),
        Column("nics", "Int64", value=lambda row: number(row.get("summary.config.numEthernetCards"))),
        Column("disks", "Int64", value=lambda row: number(row.get("summary.config.numVirtualDisks"))),
        Column("provisioned_mib", "Float64", value=_provisioned),
        Column("in_use_mib", "Float64", value=lambda row: _storage(row, "committed")),
        Column("unshared_mib", "Float64", value=lambda row: _storage(row, "unshared")),
        Column("primary_ip", path="guest.ipAddress"),
        Column("dns_name", path="guest.hostName"),
        Column("firmware", path="config.firmware"),
        Column("hw_version", path="config.version"),
        Column("annotation", path="config.annotation"),
        Column("os_config", path="config.guestFullName"),
        Column("os_tools", path="guest.guestFullName"),
        Column("vmx_path", path="config.files.vmPathName"),
        Column("uuid", path="config.uuid"),
        Column("instance_uuid", path="config.instanceUuid"),
        *placement_columns(),
        Column("moref", value=lambda row: row.ref.value),
        Column(CUSTOM_VALUES, "object", value=custom_values),
    ),
    sort=("datacenter", "name", "moref"),
    needs=frozenset({"custom_fields"}),
    doc="One row per VM and template (RVTools' vInfo), with custom attributes as attr_* columns.",
)

VM_CPU = TableSpec(
    name="vm_cpu",
    types=("VirtualMachine",),
    paths=(
        "name",
        "config.uuid",
        "runtime.powerState",
        "config.hardware.numCPU",
        "config.hardware.numCoresPerSocket",
        "config.cpuAllocation.reservation",
        "config.cpuAllocation.limit",
        "config.cpuAllocation.shares.level",
        "config.cpuAllocation.shares.shares",
        "config.cpuHotAddEnabled",
        "config.cpuHotRemoveEnabled",
        "summary.quickStats.overallCpuUsage",
        "summary.runtime.maxCpuUsage",
    ),
    columns=(
        *vm_keys(),
        Column("power_state", path="runtime.powerState"),
        Column("vcpus", "Int64", value=lambda row: number(row.get("config.hardware.numCPU"))),
        Column("sockets", "Int64", value=_sockets),
        Column(
            "cores_per_socket",
            "Int64",
            value=lambda row: number(row.get("config.hardware.numCoresPerSocket")),
        ),
        Column("max_mhz", "Int64", value=lambda row: number(row.get("summary.runtime.maxCpuUsage"))),
        Column("usage_mhz", "Int64", value=lambda row: number(row.get("summary.quickStats.overallCpuUsage"))),
        Column("reservation_mhz", "Int64", value=_allocation("cpu", "reservation")),
        Column("limit_mhz", "Int64", value=_allocation("cpu", "limit")),
        Column("shares_level", value=_allocation("cpu", "shares.level")),
        Column("shares", "Int64", value=_allocation("cpu", "shares.shares")),
        Column("hot_add", "boolean", value=lambda row: flag(row.get("config.cpuHotAddEnabled"))),
        Column("hot_remove", "boolean", value=lambda row: flag(row.get("config.cpuHotRemoveEnabled"))),
        Column("vm_moref", value=lambda row: row.ref.value),
    ),
    sort=("vm", "vm_moref"),
    doc="One row per VM: vCPUs, topology, usage and CPU allocation (RVTools' vCPU).",
)

VM_MEMORY = TableSpec(
    name="vm_memory",
    types=("VirtualMachine",),
    paths=(
        "name",
        "config.uuid",
        "runtime.powerState",
        "config.hardware.memoryMB",
        "config.memoryAllocation.reservation",
        "config.memoryAllocation.limit",
        "config.memoryAllocation.shares.level",
        "config.memoryAllocation.shares.shares",
        "config.memoryHotAddEnabled",
        "summary.quickStats.guestMemoryUsage",
        "summary.quickStats.hostMemoryUsage",
        "summary.quickStats.balloonedMemory",
        "summary.quickStats.swappedMemory",
        "summary.quickStats.consumedOverheadMemory",
    ),
    columns=(
        *vm_keys(),
        Column("power_state", path="runtime.powerState"),
        Column("memory_mib", "Int64", value=lambda row: number(row.get("config.hardware.memoryMB"))),
        Column("reservation_mib", "Int64", value=_allocation("memory", "reservation")),
        Column("limit_mib", "Int64", value=_allocation("memory", "limit")),
        Column("shares_level", value=_allocation("memory", "shares.level")),
        Column("shares", "Int64", value=_allocation("memory", "shares.shares")),
        Column("hot_add", "boolean", value=lambda row: flag(row.get("config.memoryHotAddEnabled"))),
        Column(
            "guest_usage_mib",
            "Int64",
            value=lambda row: number(row.get("summary.quickStats.guestMemoryUsage")),
        ),
        Column(
            "host_usage_mib", "Int64", value=lambda row: number(row.get("summary.quickStats.hostMemoryUsage"))
        ),
        Column(
            "ballooned_mib", "Int64", value=lambda row: number(row.get("summary.quickStats.balloonedMemory"))
        ),
        Column("swapped_mib", "Int64", value=lambda row: number(row.get("summary.quickStats.swappedMemory"))),
        Column(
            "overhead_mib",
            "Int64",
            value=lambda row: number(row.get("summary.quickStats.consumedOverheadMemory")),
        ),
        Column("vm_moref", value=lambda row: row.ref.value),
    ),
    sort=("vm", "vm_moref"),
    doc="One row per VM: memory size, allocation and usage (RVTools' vMemory).",
)

TOOLS = TableSpec(
    name="tools",
    types=("VirtualMachine",),
    paths=(
        "name",
        "config.uuid",
        "runtime.powerState",
        "guest.toolsStatus",
        "guest.toolsRunningStatus",
        "guest.toolsVersionStatus2",
        "guest.toolsVersion",
        "config.tools.toolsUpgradePolicy",
        "config.tools.syncTimeWithHost",
        "guest.guestState",
    ),
    columns=(
        *vm_keys(),
        Column("power_state", path="runtime.powerState"),
        Column("tools_status", TOOLS_STATUSES, path="guest.toolsStatus"),
        Column("running_status", path="guest.toolsRunningStatus"),
        Column("version_status", path="guest.toolsVersionStatus2"),
        Column("version", path="guest.toolsVersion"),
        Column("upgrade_policy", path="config.tools.toolsUpgradePolicy"),
        Column("sync_time", "boolean", value=lambda row: flag(row.get("config.tools.syncTimeWithHost"))),
        Column("guest_state", path="guest.guestState"),
        Column("vm_moref", value=lambda row: row.ref.value),
    ),
    sort=("vm", "vm_moref"),
    doc="One row per VM: VMware tools state and version (RVTools' vTools).",
)
