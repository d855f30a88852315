"""``dvports``: one row per port of every distributed switch.

Ports are not properties: ``FetchDVPorts`` per switch (the calls run side by side), joined with
the switches, port groups, VMs and hosts of the same bulk retrieval for names and morefs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from .._faults import translate
from .._tables import Column, TableSpec, records_frame
from ._values import get

if TYPE_CHECKING:
    import pandas as pd

    from .._protocol import ConnectionLike

__all__ = ["DVPORTS", "ENTITY_NAMES", "dvports"]


def _names(type_: str) -> TableSpec:
    return TableSpec(
        name=f"_{type_}_names",
        types=(type_,),
        paths=("name",),
        columns=(Column("name"), Column("moref", value=lambda row: row.ref.value)),
    )


#: Not estate tables: read with the others so ports name what they connect.
ENTITY_NAMES = (_names("VirtualMachine"), _names("HostSystem"))

DVPORTS = TableSpec(
    name="dvports",
    types=(),
    paths=(),
    columns=(
        Column("switch"),
        Column("port_key"),
        Column("portgroup"),
        Column("vlan", doc="the VLAN id, or a trunk's ranges as text (e.g. 100-200,300)"),
        Column("connected", "boolean"),
        Column("connectee"),
        Column("connectee_type"),
        Column("nic_key", "Int64"),
        Column("mac"),
        Column("link_up", "boolean"),
        Column("blocked", "boolean"),
        Column("allow_promiscuous", "boolean"),
        Column("mac_changes", "boolean"),
        Column("forged_transmits", "boolean"),
        Column("in_shaping", "boolean"),
        Column("out_shaping", "boolean"),
        Column("switch_moref"),
        Column("portgroup_moref"),
        Column("vm_moref"),
    ),
    sort=("switch", "switch_moref", "port_key"),
    doc="One row per distributed virtual port: port group, VLAN, what is connected, policy.",
)


def _vlan(setting: Any) -> str | None:
    vlan_id = get(setting, "vlan", "vlanId")
    if isinstance(vlan_id, int):
        return str(vlan_id)
    ranges = [f"{r.start}-{r.end}" if r.start != r.end else str(r.start) for r in vlan_id or []]
    return ",".join(ranges) or None


def _fetch(conn: ConnectionLike, name: str, moref: str) -> list[Any]:
    switch = vim.DistributedVirtualSwitch(moref, conn.session.stub)
    with translate(f"fetching the ports of distributed switch {name}"):
        return list(switch.FetchDVPorts(vim.dvs.PortCriteria()) or [])


def dvports(
    conn: ConnectionLike, switches: pd.DataFrame, portgroups: pd.DataFrame, names: dict[str, str]
) -> pd.DataFrame:
    """The ports of ``switches`` (the ``dvswitches`` table), port groups named from
    ``portgroups`` (``dv_portgroups``), VMs and hosts from ``names`` (moref: name)."""
    targets = [(r.name, r.moref) for r in switches.itertuples()]
    groups = {r.key: (r.name, r.moref) for r in portgroups.itertuples()}
    with ThreadPoolExecutor(max_workers=min(8, max(len(targets), 1))) as pool:
        results = list(pool.map(lambda t: _fetch(conn, *t), targets))
    records = []
    for (switch, switch_moref), ports in zip(targets, results):
        for port in ports:
            setting = get(port, "config", "setting")
            security = get(setting, "securityPolicy")
            runtime = get(port, "state", "runtimeInfo")
            connectee = port.connectee
            entity = get(connectee, "connectedEntity")
            entity_type = entity._wsdlName if entity is not None else None
            group, group_moref = groups.get(port.portgroupKey, (None, None))
            records.append(
                {
                    "switch": switch,
                    "port_key": port.key,
                    "portgroup": group,
                    "vlan": _vlan(setting),
                    "connected": entity is not None,
                    "connectee": names.get(entity._moId) if entity is not None else None,
                    "connectee_type": entity_type,
                    "nic_key": get(connectee, "nicKey"),
                    "mac": get(runtime, "macAddress"),
                    "link_up": get(runtime, "linkUp"),
                    "blocked": get(runtime, "blocked"),
                    "allow_promiscuous": get(security, "allowPromiscuous", "value"),
                    "mac_changes": get(security, "macChanges", "value"),
                    "forged_transmits": get(security, "forgedTransmits", "value"),
                    "in_shaping": get(setting, "inShapingPolicy", "enabled", "value"),
                    "out_shaping": get(setting, "outShapingPolicy", "enabled", "value"),
                    "switch_moref": switch_moref,
                    "portgroup_moref": group_moref,
                    "vm_moref": entity._moId if entity_type == "VirtualMachine" else None,
                }
            )
    return records_frame(DVPORTS, records)
