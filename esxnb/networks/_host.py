"""The bound host's vSwitches, read in one retrieval: listing, look-up, the Network handle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from .. import errors
from .._collect import retrieve
from .._faults import translate
from .._libvirt_xml import md5_uuid
from .._protocol import ConnectionLike
from .._tables import records_frame
from ._model import NETWORKS, PORT_GROUPS, Bandwidth, NetworkInfo, PortGroupInfo
from ._xml import format_network_xml

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Network", "HostNetwork", "read_host_network", "list_networks", "find_network"]

_PATHS = (
    "config.network.vswitch",
    "config.network.portgroup",
    "config.network.pnic",
    "config.network.vnic",
    "configManager.networkSystem",
    "network",
    "vm",
)


@dataclass
class HostNetwork:
    """One retrieval of the host's network configuration."""

    content: Any
    host: Any
    props: dict[str, Any]
    network_names: set[str]

    @property
    def system(self) -> Any:
        return self.props["configManager.networkSystem"]

    @property
    def pnics(self) -> list[Any]:
        return list(self.props.get("config.network.pnic") or [])

    def vswitch(self, name: str) -> Any | None:
        return next((v for v in self.props.get("config.network.vswitch") or [] if v.name == name), None)

    def port_group_names(self) -> set[str]:
        return {pg.spec.name for pg in self.props.get("config.network.portgroup") or []}

    def info(self, vswitch: Any) -> NetworkInfo:
        pnic_names = {p.key: p.device for p in self.pnics}
        groups = {pg.key: pg for pg in self.props.get("config.network.portgroup") or []}
        port_groups = []
        for key in vswitch.portgroup or []:
            pg = groups.get(key)
            if pg is None:
                continue
            policy = pg.spec.policy
            port_groups.append(
                PortGroupInfo(
                    name=pg.spec.name,
                    vlan=pg.spec.vlanId or 0,
                    bandwidth=Bandwidth.from_policy(policy.shapingPolicy if policy else None),
                    port_types=tuple(p.type for p in pg.port or []),
                    has_network=pg.spec.name in self.network_names,
                )
            )
        policy = vswitch.spec.policy if vswitch.spec else None
        security = policy.security if policy is not None else None
        teaming = policy.nicTeaming if policy is not None else None
        return NetworkInfo(
            name=vswitch.name,
            key=vswitch.key,
            uplinks=tuple(pnic_names.get(k, k) for k in vswitch.pnic or []),
            mtu=vswitch.mtu,
            ports=vswitch.numPorts,
            ports_available=vswitch.numPortsAvailable,
            port_groups=tuple(port_groups),
            bandwidth=Bandwidth.from_policy(policy.shapingPolicy if policy else None),
            security={
                "allow_promiscuous": getattr(security, "allowPromiscuous", None),
                "mac_changes": getattr(security, "macChanges", None),
                "forged_transmits": getattr(security, "forgedTransmits", None),
            },
            teaming=getattr(teaming, "policy", None),
        )

    def users(self, port_group: str) -> list[str]:
        """The VMs of this host with a NIC on ``port_group``, and its VMkernel NICs."""
        found = [
            f"VMkernel NIC {v.device}"
            for v in self.props.get("config.network.vnic") or []
            if v.portgroup == port_group
        ]
        vms = self.props.get("vm") or []
        for props in retrieve(self.content, vms, ["name", "config.hardware.device"]).values():
            for device in props.get("config.hardware.device") or []:
                backing = getattr(device, "backing", None)
                if isinstance(backing, vim.vm.device.VirtualEthernetCard.NetworkBackingInfo) and (
                    backing.deviceName == port_group
                ):
                    found.append(f"VM {props.get('name')}")
                    break
        return found


def read_host_network(conn: ConnectionLike, operation: str) -> HostNetwork:
    host = conn.require_host(operation)
    props = retrieve(conn.content, [host], _PATHS).get(host, {})
    networks = props.get("network") or []
    names = {p.get("name") for p in retrieve(conn.content, networks, ["name"]).values()}
    return HostNetwork(conn.content, host, props, {n for n in names if n})


def list_networks(conn: ConnectionLike) -> pd.DataFrame:
    """One row per standard vSwitch of the bound host, sorted by name."""
    hn = read_host_network(conn, "listing networks")
    rows = sorted(
        (hn.info(v).row() for v in hn.props.get("config.network.vswitch") or []), key=lambda r: r["name"]
    )
    return records_frame(NETWORKS, rows)


def find_network(conn: ConnectionLike, name: str) -> Network:
    """The vSwitch ``name`` (or the one whose libvirt UUID is ``name``)."""
    hn = read_host_network(conn, "looking up a network")
    switches = hn.props.get("config.network.vswitch") or []
    for vswitch in switches:
        if name in (vswitch.name, md5_uuid(vswitch.key)):
            return Network(conn, vswitch.name)
    names = sorted(v.name for v in switches)
    raise errors.NotFoundError(
        f"no network (vSwitch) {name!r} on {conn.location.host_name}; there are: {', '.join(names) or 'none'}",
        suggestions=names,
    )


class Network:
    """One standard vSwitch: ``info()``, ``port_groups()``, ``xml()``, ``undefine()``."""

    def __init__(self, conn: ConnectionLike, name: str) -> None:
        self.conn = conn
        self.name = name

    def __repr__(self) -> str:
        return f"<esxnb.Network {self.name!r}>"

    def _read(self) -> tuple[HostNetwork, Any]:
        hn = read_host_network(self.conn, "reading a network")
        vswitch = hn.vswitch(self.name)
        if vswitch is None:
            raise errors.NotFoundError(
                f"network (vSwitch) {self.name!r} is gone from {self.conn.location.host_name}"
            )
        return hn, vswitch

    def info(self) -> NetworkInfo:
        hn, vswitch = self._read()
        return hn.info(vswitch)

    def port_groups(self) -> pd.DataFrame:
        """Its port groups: name, VLAN, active ports and their kinds, shaping."""
        info = self.info()
        rows = []
        for pg in info.port_groups:
            shaping = pg.bandwidth
            rows.append(
                {
                    "name": pg.name,
                    "network": info.name,
                    "vlan": pg.vlan,
                    "active_ports": len(pg.port_types),
                    "port_types": ", ".join(sorted(set(pg.port_types))),
                    "has_network": pg.has_network,
                    "shaping_average_kbps": shaping.average if shaping else None,
                    "shaping_peak_kbps": shaping.peak if shaping else None,
                    "shaping_burst_kb": shaping.burst if shaping else None,
                }
            )
        return records_frame(PORT_GROUPS, rows)

    def xml(self) -> str:
        """The vSwitch in libvirt's ``<network>`` format, as its ESX network driver writes it
        (plus port group VLANs)."""
        return format_network_xml(self.info())

    def undefine(self) -> None:
        """Remove the vSwitch and its port groups; refused while a VM or VMkernel NIC uses one."""
        hn, vswitch = self._read()
        info = hn.info(vswitch)
        busy = []
        for pg in info.port_groups:
            users = hn.users(pg.name)
            others = [t for t in pg.port_types if t != "virtualMachine"]
            if others and not users:
                users = [f"a '{others[0]}' port"]
            if users:
                busy.append(f"{pg.name!r} by {', '.join(users)}")
        if busy:
            raise errors.InvalidStateError(
                f"not undefining network {self.name!r}: its port groups are in use: {'; '.join(busy)}"
            )
        system = hn.system
        for pg in info.port_groups:
            with translate(f"removing port group {pg.name!r} of network {self.name!r}"):
                system.RemovePortGroup(pg.name)
        with translate(f"removing network (vSwitch) {self.name!r}"):
            system.RemoveVirtualSwitch(self.name)
