"""Host-side tables, one row per item of each host's configuration: ``host_nics`` (RVTools'
vNIC), ``vmkernel_nics`` (vSC_VMK), ``switches`` (vSwitch), ``port_groups`` (vPort), ``hbas``
(vHBA), ``multipaths`` (vMultiPath); and ``dvswitches`` (dvSwitch), ``licenses`` (vLicense)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .._tables import Column, Row, TableSpec
from ._values import flag, get, items, number, typename

__all__ = [
    "HOST_NICS",
    "VMKERNEL_NICS",
    "SWITCHES",
    "PORT_GROUPS",
    "HBAS",
    "MULTIPATHS",
    "DVSWITCHES",
    "LICENSES",
]


def _host_keys() -> tuple[Column, ...]:
    return (
        Column("host", value=lambda row: row.host_place()[0]),
        Column("cluster", value=lambda row: row.host_place()[2]),
    )


def _host_moref() -> Column:
    return Column("host_moref", value=lambda row: row.ref.value)


def _over(path: str) -> Callable[[Row], Iterator[Any]]:
    return lambda row: iter(items(row.get(path)))


def _item(*path: str) -> Callable[[Row], Any]:
    return lambda row: get(row.item, *path)


def _item_int(*path: str) -> Callable[[Row], Any]:
    return lambda row: number(get(row.item, *path))


def _nic_name(key: Any) -> str:
    """``key-vim.host.PhysicalNic-vmnic0`` -> ``vmnic0``."""
    return str(key).rsplit("PhysicalNic-", 1)[-1]


def _host_table(name: str, path: str, columns: tuple[Column, ...], sort: str, doc: str) -> TableSpec:
    """A table of one row per element of every host's ``path``, keyed by host."""
    return TableSpec(
        name=name,
        types=("HostSystem",),
        paths=(path,),
        columns=(*_host_keys(), *columns, _host_moref()),
        sort=("host", sort, "host_moref"),
        expand=_over(path),
        keep=lambda row: row.structure.within(row.ref, row.extra["scope"]),
        doc=doc,
    )


HOST_NICS = _host_table(
    "host_nics",
    "config.network.pnic",
    (
        Column("device", value=_item("device")),
        Column("mac", value=_item("mac")),
        Column("driver", value=_item("driver")),
        Column("pci", value=_item("pci")),
        Column("speed_mbps", "Int64", value=_item_int("linkSpeed", "speedMb")),
        Column("full_duplex", "boolean", value=lambda row: flag(get(row.item, "linkSpeed", "duplex"))),
    ),
    "device",
    "One row per physical NIC of every host (RVTools' vNIC).",
)

VMKERNEL_NICS = _host_table(
    "vmkernel_nics",
    "config.network.vnic",
    (
        Column("device", value=_item("device")),
        Column("port_group", value=_item("portgroup")),
        Column("ip", value=_item("spec", "ip", "ipAddress")),
        Column("netmask", value=_item("spec", "ip", "subnetMask")),
        Column("dhcp", "boolean", value=lambda row: flag(get(row.item, "spec", "ip", "dhcp"))),
        Column("mac", value=_item("spec", "mac")),
        Column("mtu", "Int64", value=_item_int("spec", "mtu")),
    ),
    "device",
    "One row per VMkernel NIC of every host (RVTools' vSC_VMK).",
)

SWITCHES = _host_table(
    "switches",
    "config.network.vswitch",
    (
        Column("name", value=_item("name")),
        Column("ports", "Int64", value=_item_int("numPorts")),
        Column("ports_available", "Int64", value=_item_int("numPortsAvailable")),
        Column("mtu", "Int64", value=_item_int("mtu")),
        Column(
            "uplinks", value=lambda row: ", ".join(_nic_name(k) for k in items(get(row.item, "pnic"))) or None
        ),
        Column("port_groups", "Int64", value=lambda row: len(items(get(row.item, "portgroup")))),
    ),
    "name",
    "One row per standard vSwitch of every host (RVTools' vSwitch).",
)

PORT_GROUPS = _host_table(
    "port_groups",
    "config.network.portgroup",
    (
        Column("name", value=_item("spec", "name")),
        Column("switch", value=_item("spec", "vswitchName")),
        Column("vlan", "Int64", value=_item_int("spec", "vlanId")),
        Column("active_ports", "Int64", value=lambda row: len(items(get(row.item, "port")))),
    ),
    "name",
    "One row per standard port group of every host (RVTools' vPort).",
)

HBAS = _host_table(
    "hbas",
    "config.storageDevice.hostBusAdapter",
    (
        Column("device", value=_item("device")),
        Column("kind", value=lambda row: typename(row.item)),
        Column("model", value=_item("model")),
        Column("driver", value=_item("driver")),
        Column("pci", value=_item("pci")),
        Column("status", value=_item("status")),
        Column("wwn", value=lambda row: get(row.item, "portWorldWideName") or get(row.item, "iScsiName")),
    ),
    "device",
    "One row per storage adapter of every host (RVTools' vHBA).",
)

MULTIPATHS = _host_table(
    "multipaths",
    "config.storageDevice.multipathInfo.lun",
    (
        Column("lun", value=_item("id")),
        Column("policy", value=_item("policy", "policy")),
        Column("paths", "Int64", value=lambda row: len(items(get(row.item, "path")))),
        Column(
            "path_states",
            value=lambda row: ", ".join(str(get(p, "pathState")) for p in items(get(row.item, "path")))
            or None,
        ),
    ),
    "lun",
    "One row per LUN of every host with its multipathing policy and paths (RVTools' vMultiPath).",
)

DVSWITCHES = TableSpec(
    name="dvswitches",
    types=("DistributedVirtualSwitch",),
    paths=(
        "name",
        "uuid",
        "summary.numPorts",
        "summary.hostMember",
        "summary.productInfo",
        "config.maxMtu",
        "portgroup",
        "parent",
    ),
    columns=(
        Column("name"),
        Column("datacenter", value=lambda row: row.datacenter_path()),
        Column("uuid", path="uuid"),
        Column("version", value=lambda row: get(row.get("summary.productInfo"), "version")),
        Column("ports", "Int64", value=lambda row: number(row.get("summary.numPorts"))),
        Column("hosts", "Int64", value=lambda row: len(items(row.get("summary.hostMember")))),
        Column("port_groups", "Int64", value=lambda row: len(items(row.get("portgroup")))),
        Column("max_mtu", "Int64", value=lambda row: number(row.get("config.maxMtu"))),
        Column("moref", value=lambda row: row.ref.value),
    ),
    sort=("datacenter", "name", "moref"),
    doc="One row per distributed switch (RVTools' dvSwitch).",
)

LICENSES = TableSpec(
    name="licenses",
    types=("LicenseManager",),
    paths=("licenses",),
    columns=(
        Column("name", value=_item("name")),
        Column("key", value=_item("licenseKey")),
        Column("edition", value=_item("editionKey")),
        Column("total", "Int64", value=_item_int("total")),
        Column("used", "Int64", value=_item_int("used")),
        Column("cost_unit", value=_item("costUnit")),
        Column(
            "expires",
            value=lambda row: next(
                (
                    get(p, "value")
                    for p in items(get(row.item, "properties"))
                    if get(p, "key") == "expirationDate"
                ),
                None,
            ),
        ),
    ),
    sort=("name", "key"),
    expand=_over("licenses"),
    doc="One row per license the server knows (RVTools' vLicense).",
)
