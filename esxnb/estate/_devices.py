"""The per-device tables, one row per virtual device of every VM: ``disks`` (RVTools' vDisk),
``nics`` (vNetwork), ``cdroms`` (vCD), ``usb`` (vUSB), and ``partitions`` (vPartition, the
guest's file systems as VMware tools report them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .._tables import Column, Row, TableSpec
from ._values import flag, get, items, mac_range, mib, number, typename
from ._vms import vm_keys

__all__ = ["DISKS", "NICS", "CDROMS", "USB", "PARTITIONS", "DV_PORTGROUPS"]

_DATASTORE = re.compile(r"^\[([^\]]*)\]")
_CONTROLLERS = {
    "ParaVirtualSCSIController": "pvscsi",
    "VirtualLsiLogicController": "lsilogic",
    "VirtualLsiLogicSASController": "lsisas1068",
    "VirtualBusLogicController": "buslogic",
    "VirtualIDEController": "ide",
    "VirtualAHCIController": "sata",
    "VirtualNVMEController": "nvme",
}
_NIC_MODELS = {
    "VirtualVmxnet3": "vmxnet3",
    "VirtualVmxnet2": "vmxnet2",
    "VirtualVmxnet": "vmxnet",
    "VirtualE1000": "e1000",
    "VirtualE1000e": "e1000e",
    "VirtualPCNet32": "vlance",
    "VirtualSriovEthernetCard": "sriov",
}


def _devices(row: Row) -> list[Any]:
    return row.per_object("devices", lambda: items(row.get("config.hardware.device")))


def _by_key(row: Row) -> dict[str, Any]:
    return row.per_object("devices_by_key", lambda: {str(get(d, "key")): d for d in _devices(row)})


def _of_types(*names: str) -> Any:
    wanted = frozenset(names)

    def expand(row: Row) -> Iterator[Any]:
        return (d for d in _devices(row) if typename(d) in wanted)

    return expand


def _controller(row: Row) -> Any:
    return _by_key(row).get(str(get(row.item, "controllerKey")))


def _controller_model(kind: str | None) -> str | None:
    """libvirt's name of a controller type (the vSphere type where libvirt has none)."""
    return _CONTROLLERS.get(kind or "", kind)


def _label(row: Row) -> Any:
    return get(row.item, "deviceInfo", "label")


def _file(row: Row) -> Any:
    return get(row.item, "backing", "fileName")


def _datastore(row: Row) -> str | None:
    match = _DATASTORE.match(_file(row) or "")
    return match.group(1) if match else None


def _connected(part: str) -> Any:
    return lambda row: flag(get(row.item, "connectable", part))


def _device_columns() -> tuple[Column, ...]:
    return (
        Column("label", value=_label),
        Column("key", "Int64", value=lambda row: number(get(row.item, "key"))),
    )


def _controller_columns() -> tuple[Column, ...]:
    return (
        Column(
            "controller",
            value=lambda row: _controller_model(typename(_controller(row))),
        ),
        Column("controller_bus", "Int64", value=lambda row: number(get(_controller(row), "busNumber"))),
        Column("unit", "Int64", value=lambda row: number(get(row.item, "unitNumber"))),
    )


def _vm_moref() -> Column:
    return Column("vm_moref", value=lambda row: row.ref.value)


_DEVICE_PATHS = ("name", "config.uuid", "config.hardware.device")

DISKS = TableSpec(
    name="disks",
    types=("VirtualMachine",),
    paths=_DEVICE_PATHS,
    columns=(
        *vm_keys(),
        *_device_columns(),
        *_controller_columns(),
        Column("capacity_mib", "Float64", value=lambda row: mib(get(row.item, "capacityInKB"), 1024)),
        Column("thin", "boolean", value=lambda row: flag(get(row.item, "backing", "thinProvisioned"))),
        Column("eager_zeroed", "boolean", value=lambda row: flag(get(row.item, "backing", "eagerlyScrub"))),
        Column("mode", value=lambda row: get(row.item, "backing", "diskMode")),
        Column("sharing", value=lambda row: get(row.item, "backing", "sharing")),
        Column("backing", value=lambda row: typename(get(row.item, "backing"))),
        Column("file", value=_file),
        Column("datastore", value=_datastore),
        Column("disk_uuid", value=lambda row: get(row.item, "backing", "uuid")),
        Column("io_shares_level", value=lambda row: get(row.item, "storageIOAllocation", "shares", "level")),
        Column(
            "io_limit_iops", "Int64", value=lambda row: number(get(row.item, "storageIOAllocation", "limit"))
        ),
        _vm_moref(),
    ),
    sort=("vm", "vm_moref", "key"),
    expand=_of_types("VirtualDisk"),
    doc="One row per virtual disk of every VM (RVTools' vDisk).",
)


def _portgroup_names(row: Row) -> dict[str, str]:
    """Distributed port group key -> name, when the same read brought them (nics() asks)."""

    def build() -> dict[str, str]:
        table = row.structure.result.table("DistributedVirtualPortgroup")
        return {str(props.get("key")): str(props.get("name")) for props in table.rows if props.get("key")}

    cache = row.extra.setdefault("_portgroups", {})
    if "map" not in cache:
        cache["map"] = build()
    return cache["map"]


def _network(row: Row) -> str | None:
    backing = get(row.item, "backing")
    key = get(backing, "port", "portgroupKey")
    if key is not None:
        return _portgroup_names(row).get(str(key), str(key))
    return get(backing, "deviceName")


def _guest_ips(row: Row) -> str | None:
    mac = str(get(row.item, "macAddress") or "").lower()
    for nic in items(row.get("guest.net")):
        if str(get(nic, "macAddress") or "").lower() == mac:
            return ", ".join(str(ip) for ip in items(get(nic, "ipAddress"))) or None
    return None


NICS = TableSpec(
    name="nics",
    types=("VirtualMachine",),
    paths=(*_DEVICE_PATHS, "guest.net"),
    columns=(
        *vm_keys(),
        *_device_columns(),
        Column("model", value=lambda row: _NIC_MODELS.get(typename(row.item) or "", typename(row.item))),
        Column("network", value=_network),
        Column("switch_uuid", value=lambda row: get(row.item, "backing", "port", "switchUuid")),
        Column("distributed", "boolean", value=lambda row: get(row.item, "backing", "port") is not None),
        Column("mac", value=lambda row: get(row.item, "macAddress")),
        Column("address_type", value=lambda row: get(row.item, "addressType")),
        Column("mac_range", value=lambda row: mac_range(get(row.item, "macAddress"))),
        Column("connected", "boolean", value=_connected("connected")),
        Column("start_connected", "boolean", value=_connected("startConnected")),
        Column("ips", value=_guest_ips),
        _vm_moref(),
    ),
    sort=("vm", "vm_moref", "key"),
    expand=_of_types(*_NIC_MODELS),
    doc="One row per virtual NIC of every VM, with its MAC's range per the spec (RVTools' vNetwork).",
)

_CDROM_BACKINGS = {
    "VirtualCdromIsoBackingInfo": "iso",
    "VirtualCdromAtapiBackingInfo": "host-device",
    "VirtualCdromPassthroughBackingInfo": "host-passthrough",
    "VirtualCdromRemoteAtapiBackingInfo": "client-device",
    "VirtualCdromRemotePassthroughBackingInfo": "client-device",
}

CDROMS = TableSpec(
    name="cdroms",
    types=("VirtualMachine",),
    paths=_DEVICE_PATHS,
    columns=(
        *vm_keys(),
        *_device_columns(),
        *_controller_columns(),
        Column("backing", value=lambda row: _CDROM_BACKINGS.get(typename(get(row.item, "backing")) or "")),
        Column("file", value=lambda row: _file(row) or get(row.item, "backing", "deviceName") or None),
        Column("connected", "boolean", value=_connected("connected")),
        Column("start_connected", "boolean", value=_connected("startConnected")),
        _vm_moref(),
    ),
    sort=("vm", "vm_moref", "key"),
    expand=_of_types("VirtualCdrom"),
    doc="One row per CD/DVD drive of every VM (RVTools' vCD).",
)

USB = TableSpec(
    name="usb",
    types=("VirtualMachine",),
    paths=_DEVICE_PATHS,
    columns=(
        *vm_keys(),
        *_device_columns(),
        Column("kind", value=lambda row: typename(row.item)),
        Column("device", value=lambda row: get(row.item, "backing", "deviceName")),
        Column("connected", "boolean", value=_connected("connected")),
        _vm_moref(),
    ),
    sort=("vm", "vm_moref", "key"),
    expand=_of_types("VirtualUSB", "VirtualUSBController", "VirtualUSBXHCIController"),
    doc="One row per USB controller or device of every VM (RVTools' vUSB).",
)


def _free_pct(row: Row) -> float | None:
    capacity, free = number(get(row.item, "capacity")), number(get(row.item, "freeSpace"))
    return None if not capacity or free is None else round(100 * free / capacity, 1)


PARTITIONS = TableSpec(
    name="partitions",
    types=("VirtualMachine",),
    paths=("name", "config.uuid", "guest.disk"),
    columns=(
        *vm_keys(),
        Column("path", value=lambda row: get(row.item, "diskPath")),
        Column("capacity_mib", "Float64", value=lambda row: mib(get(row.item, "capacity"))),
        Column("free_mib", "Float64", value=lambda row: mib(get(row.item, "freeSpace"))),
        Column("free_pct", "Float64", value=_free_pct),
        _vm_moref(),
    ),
    sort=("vm", "vm_moref", "path"),
    expand=lambda row: items(row.get("guest.disk")),
    doc="One row per guest file system VMware tools report (RVTools' vPartition).",
)


DV_PORTGROUPS = TableSpec(
    name="dv_portgroups",
    types=("DistributedVirtualPortgroup",),
    paths=(
        "name",
        "key",
        "config.defaultPortConfig",
        "config.numPorts",
        "config.type",
        "config.distributedVirtualSwitch",
        "vm",
    ),
    columns=(
        Column("name"),
        Column("key"),
        Column(
            "vlan",
            "Int64",
            value=lambda row: number(get(row.get("config.defaultPortConfig"), "vlan", "vlanId")),
        ),
        Column("ports", "Int64", value=lambda row: number(row.get("config.numPorts"))),
        Column("binding", path="config.type"),
        Column(
            "switch_moref",
            value=lambda row: getattr(row.get("config.distributedVirtualSwitch"), "value", None),
        ),
        Column("vms", "Int64", value=lambda row: len(items(row.get("vm")))),
        Column("moref", value=lambda row: row.ref.value),
    ),
    sort=("name", "moref"),
    doc="One row per distributed port group (RVTools' dvPort, per group).",
)
