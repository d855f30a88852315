"""Standard vSwitches of the bound host as libvirt networks, as libvirt's ESX network driver
shows and defines them.

A network's UUID is the MD5 of the vSwitch's key; its uplinks are ``<forward mode='bridge'>``
interfaces; its port groups (those with a vSphere Network object: VM port groups) are
``<portgroup>`` elements; traffic shaping is ``<bandwidth>`` (kilobytes per second and
kilobytes, as libvirt scales them). Beyond libvirt, esxnb writes and reads a port group's VLAN
as ``<vlan><tag id='N'/></vlan>`` and a vSwitch MTU other than 1500 as ``<mtu size='N'/>``.

``define_network(xml)`` creates the vSwitch with 128 ports, its uplinks and shaping, then its
port groups, and removes what it created when a later step fails; ``undefine()`` refuses while
a VM or a VMkernel NIC uses one of its port groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from . import errors
from ._collect import retrieve
from ._faults import translate
from ._libvirt_xml import child_text, esc, md5_uuid, parse_root
from ._protocol import ConnectionLike
from ._rowframe import Column, frame

if TYPE_CHECKING:
    import pandas as pd
    from lxml import etree

__all__ = [
    "Network",
    "NetworkInfo",
    "PortGroupInfo",
    "Bandwidth",
    "list_networks",
    "find_network",
    "define_network",
    "parse_network_xml",
    "NETWORK_COLUMNS",
    "PORT_GROUP_COLUMNS",
]

_PATHS = (
    "config.network.vswitch",
    "config.network.portgroup",
    "config.network.pnic",
    "config.network.vnic",
    "configManager.networkSystem",
    "network",
    "vm",
)
#: libvirt creates every vSwitch with this many ports
NUM_PORTS = 128
#: ESX's vSwitch MTU unless told otherwise (esxnb writes <mtu> only for other values)
DEFAULT_MTU = 1500

NETWORK_COLUMNS: list[Column] = [
    ("name", "string"),
    ("uuid", "string"),
    ("uplinks", "string"),
    ("mtu", "Int64"),
    ("ports", "Int64"),
    ("ports_available", "Int64"),
    ("port_groups", "string"),
    ("vlans", "string"),
    ("allow_promiscuous", "boolean"),
    ("mac_changes", "boolean"),
    ("forged_transmits", "boolean"),
    ("teaming", "string"),
    ("shaping_average_kbps", "Int64"),
    ("shaping_peak_kbps", "Int64"),
    ("shaping_burst_kb", "Int64"),
]
PORT_GROUP_COLUMNS: list[Column] = [
    ("name", "string"),
    ("network", "string"),
    ("vlan", "Int64"),
    ("active_ports", "Int64"),
    ("port_types", "string"),
    ("has_network", "boolean"),
    ("shaping_average_kbps", "Int64"),
    ("shaping_peak_kbps", "Int64"),
    ("shaping_burst_kb", "Int64"),
]


@dataclass(frozen=True)
class Bandwidth:
    """Traffic shaping in libvirt's units: kilobytes per second, burst in kilobytes."""

    average: int = 0
    peak: int = 0
    burst: int = 0

    @classmethod
    def from_policy(cls, shaping: Any) -> Bandwidth | None:
        """libvirt's esxShapingPolicyToBandwidth: bits/s -> kB/s, bytes -> KiB; None when off."""
        if shaping is None or not shaping.enabled:
            return None
        return cls(
            average=(shaping.averageBandwidth or 0) // 8 // 1000,
            peak=(shaping.peakBandwidth or 0) // 8 // 1000,
            burst=(shaping.burstSize or 0) // 1024,
        )

    def to_policy(self) -> Any:
        """libvirt's esxBandwidthToShapingPolicy (None when everything is 0)."""
        if not (self.average or self.peak or self.burst):
            return None
        policy = vim.host.NetworkPolicy.TrafficShapingPolicy(enabled=True)
        if self.average:
            policy.averageBandwidth = self.average * 8 * 1000
        if self.peak:
            policy.peakBandwidth = self.peak * 8 * 1000
        if self.burst:
            policy.burstSize = self.burst * 1024
        return policy

    def xml(self, indent: str) -> list[str]:
        if not self.average:  # libvirt writes a rate only when it has an average
            return [f"{indent}<bandwidth>", f"{indent}</bandwidth>"]
        rate = f"average='{self.average}'"
        if self.peak:
            rate += f" peak='{self.peak}'"
        if self.burst:
            rate += f" burst='{self.burst}'"
        return [
            f"{indent}<bandwidth>",
            f"{indent}  <inbound {rate}/>",
            f"{indent}  <outbound {rate}/>",
            f"{indent}</bandwidth>",
        ]


@dataclass(frozen=True)
class PortGroupInfo:
    name: str
    vlan: int
    bandwidth: Bandwidth | None
    port_types: tuple[str, ...]  # virtualMachine, host, systemManagement per active port
    has_network: bool  # a vSphere Network object exists (libvirt lists only those)


@dataclass(frozen=True)
class NetworkInfo:
    """One standard vSwitch with its port groups."""

    name: str
    key: str
    uplinks: tuple[str, ...]
    mtu: int | None
    ports: int | None
    ports_available: int | None
    port_groups: tuple[PortGroupInfo, ...]
    bandwidth: Bandwidth | None
    security: dict[str, bool | None] = field(default_factory=dict)
    teaming: str | None = None

    @property
    def uuid(self) -> str:
        return md5_uuid(self.key)

    def row(self) -> dict[str, Any]:
        shaping = self.bandwidth or Bandwidth()
        return {
            "name": self.name,
            "uuid": self.uuid,
            "uplinks": ", ".join(self.uplinks),
            "mtu": self.mtu,
            "ports": self.ports,
            "ports_available": self.ports_available,
            "port_groups": ", ".join(pg.name for pg in self.port_groups),
            "vlans": ", ".join(str(pg.vlan) for pg in self.port_groups),
            "teaming": self.teaming,
            "shaping_average_kbps": shaping.average if self.bandwidth else None,
            "shaping_peak_kbps": shaping.peak if self.bandwidth else None,
            "shaping_burst_kb": shaping.burst if self.bandwidth else None,
            **self.security,
        }


@dataclass
class _HostNetwork:
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


def _read(conn: ConnectionLike, operation: str) -> _HostNetwork:
    host = conn.require_host(operation)
    props = retrieve(conn.content, [host], _PATHS).get(host, {})
    networks = props.get("network") or []
    names = {p.get("name") for p in retrieve(conn.content, networks, ["name"]).values()}
    return _HostNetwork(conn.content, host, props, {n for n in names if n})


def list_networks(conn: ConnectionLike) -> pd.DataFrame:
    """One row per standard vSwitch of the bound host, sorted by name."""
    hn = _read(conn, "listing networks")
    rows = sorted(
        (hn.info(v).row() for v in hn.props.get("config.network.vswitch") or []), key=lambda r: r["name"]
    )
    return frame(rows, NETWORK_COLUMNS)


def find_network(conn: ConnectionLike, name: str) -> Network:
    """The vSwitch ``name`` (or the one whose libvirt UUID is ``name``)."""
    hn = _read(conn, "looking up a network")
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

    def _read(self) -> tuple[_HostNetwork, Any]:
        hn = _read(self.conn, "reading a network")
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
        return frame(rows, PORT_GROUP_COLUMNS)

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


@dataclass(frozen=True)
class _PortGroupDef:
    name: str
    vlan: int
    bandwidth: Bandwidth | None


@dataclass(frozen=True)
class NetworkDef:
    """A parsed ``<network>``: what define_network creates."""

    name: str
    uplinks: tuple[str, ...]
    bandwidth: Bandwidth | None
    mtu: int | None
    port_groups: tuple[_PortGroupDef, ...]


def _int_attr(element: etree._Element, attr: str, what: str, low: int, high: int) -> int:
    value = element.get(attr)
    if value is None:
        return 0
    try:
        number = int(value.strip())
    except ValueError:
        raise errors.ValidationError(f"{what} {attr}='{value}' must be a whole number") from None
    if not low <= number <= high:
        raise errors.ValidationError(f"{what} {attr}='{value}' must be between {low} and {high}")
    return number


def _bandwidth(parent: etree._Element, where: str) -> Bandwidth | None:
    element = parent.find("bandwidth")
    if element is None:
        return None
    rates = {}
    for direction in ("inbound", "outbound"):
        rate = element.find(direction)
        what = f"<{direction}> of {where}"
        rates[direction] = (
            Bandwidth(
                average=_int_attr(rate, "average", what, 0, 2**40),
                peak=_int_attr(rate, "peak", what, 0, 2**40),
                burst=_int_attr(rate, "burst", what, 0, 2**40),
            )
            if rate is not None
            else None
        )
    if rates["inbound"] is None or rates["inbound"] != rates["outbound"]:
        raise errors.ValidationError(
            f"<bandwidth> of {where}: different inbound and outbound bandwidth is unsupported "
            "(ESX shapes both directions alike; give the same <inbound> and <outbound>)"
        )
    return rates["inbound"]


def parse_network_xml(xml: str | bytes) -> NetworkDef:
    """A ``<network>`` checked as libvirt's ESX driver checks it."""
    root = parse_root(xml, "network", "network")
    name = child_text(root, "name")
    if not name:
        raise errors.ValidationError("<network> needs a <name> (the vSwitch name)")
    if root.find("uuid") is not None:
        raise errors.ValidationError(
            "<uuid> cannot be given: a network's UUID is derived from its vSwitch key (remove <uuid>)"
        )
    uplinks: list[str] = []
    forward = root.find("forward")
    if forward is not None:
        mode = forward.get("mode", "nat")
        if mode != "bridge":
            raise errors.ValidationError(
                f"unsupported forward mode '{mode}' (ESX networks take mode='bridge' or no <forward>)"
            )
        for interface in forward.findall("interface"):
            dev = interface.get("dev")
            if not dev:
                raise errors.ValidationError("<forward><interface> needs a dev='vmnicN' attribute")
            uplinks.append(dev)
        if not uplinks and forward.get("dev"):
            uplinks.append(forward.get("dev") or "")
    mtu_element = root.find("mtu")
    mtu = _int_attr(mtu_element, "size", "<mtu>", 1280, 9000) if mtu_element is not None else None
    port_groups = []
    seen = set()
    for element in root.findall("portgroup"):
        pg_name = element.get("name")
        if not pg_name:
            raise errors.ValidationError("<portgroup> needs a name attribute")
        if pg_name in seen:
            raise errors.ValidationError(f"port group {pg_name!r} is given twice")
        seen.add(pg_name)
        vlan = 0
        vlan_element = element.find("vlan")
        if vlan_element is not None:
            tags = vlan_element.findall("tag")
            if len(tags) != 1:
                raise errors.ValidationError(
                    f"<vlan> of port group {pg_name!r}: a port group carries exactly one <tag id='N'/> "
                    "(0 none, 1-4094 a VLAN, 4095 all VLANs)"
                )
            vlan = _int_attr(tags[0], "id", f"<tag> of port group {pg_name!r}", 0, 4095)
        port_groups.append(_PortGroupDef(pg_name, vlan, _bandwidth(element, f"port group {pg_name!r}")))
    return NetworkDef(
        name=name,
        uplinks=tuple(uplinks),
        bandwidth=_bandwidth(root, f"network {name!r}"),
        mtu=mtu,
        port_groups=tuple(port_groups),
    )


def _policy(bandwidth: Bandwidth | None) -> Any:
    policy = vim.host.NetworkPolicy()
    if bandwidth is not None:
        policy.shapingPolicy = bandwidth.to_policy()
    return policy


def define_network(conn: ConnectionLike, xml: str | bytes) -> Network:
    """Create the vSwitch, uplinks, shaping and port groups ``xml`` describes; all or nothing."""
    definition = parse_network_xml(xml)
    hn = _read(conn, "defining a network")
    host_name = conn.location.host_name
    if hn.vswitch(definition.name) is not None:
        raise errors.DomainExistsError(
            f"network (vSwitch) {definition.name!r} exists already on {host_name}; not changing it"
        )
    existing = hn.port_group_names()
    for pg in definition.port_groups:
        if pg.name in existing:
            raise errors.DomainExistsError(f"port group {pg.name!r} exists already on {host_name}")
    pnics = {p.device: p for p in hn.pnics}
    bound = {key: v.name for v in hn.props.get("config.network.vswitch") or [] for key in v.pnic or []}
    for dev in definition.uplinks:
        if dev not in pnics:
            raise errors.ValidationError(
                f"no physical NIC {dev!r} on {host_name}; there are: {', '.join(sorted(pnics)) or 'none'}"
            )
        if pnics[dev].key in bound:
            raise errors.InvalidStateError(
                f"physical NIC {dev!r} is already an uplink of vSwitch {bound[pnics[dev].key]!r} on {host_name}"
            )
    spec = vim.host.VirtualSwitch.Specification(numPorts=NUM_PORTS)
    if definition.uplinks:
        spec.bridge = vim.host.VirtualSwitch.BondBridge(nicDevice=list(definition.uplinks))
    if definition.bandwidth is not None:
        spec.policy = _policy(definition.bandwidth)
    if definition.mtu:
        spec.mtu = definition.mtu
    system = hn.system
    with translate(f"creating vSwitch {definition.name!r} on {host_name}"):
        system.AddVirtualSwitch(definition.name, spec)
    added: list[str] = []
    try:
        for pg in definition.port_groups:
            pg_spec = vim.host.PortGroup.Specification(
                name=pg.name, vlanId=pg.vlan, vswitchName=definition.name, policy=_policy(pg.bandwidth)
            )
            with translate(f"creating port group {pg.name!r} on vSwitch {definition.name!r}"):
                system.AddPortGroup(pg_spec)
            added.append(pg.name)
    except errors.EsxnbError as exc:
        problems = _roll_back(system, definition.name, added)
        if problems:
            raise type(exc)(f"{exc}; rolling back also failed: {'; '.join(problems)}") from exc
        raise
    return Network(conn, definition.name)


def _roll_back(system: Any, vswitch: str, port_groups: list[str]) -> list[str]:
    problems = []
    for name in reversed(port_groups):
        try:
            system.RemovePortGroup(name)
        except Exception as exc:  # report, and keep removing what can be removed
            problems.append(f"port group {name!r} left behind ({exc})")
    try:
        system.RemoveVirtualSwitch(vswitch)
    except Exception as exc:
        problems.append(f"vSwitch {vswitch!r} left behind ({exc})")
    return problems


def format_network_xml(info: NetworkInfo) -> str:
    """``<network>`` as libvirt's virNetworkDefFormat writes the ESX driver's definition."""
    lines = ["<network>", f"  <name>{esc(info.name)}</name>", f"  <uuid>{info.uuid}</uuid>"]
    if info.uplinks:
        lines.append(f"  <forward dev='{esc(info.uplinks[0])}' mode='bridge'>")
        lines += [f"    <interface dev='{esc(dev)}'/>" for dev in info.uplinks]
        lines.append("  </forward>")
    else:
        lines.append("  <bridge stp='off' delay='0'/>")
    if info.mtu and info.mtu != DEFAULT_MTU:
        lines.append(f"  <mtu size='{info.mtu}'/>")
    if info.bandwidth is not None:
        lines += info.bandwidth.xml("  ")
    for pg in info.port_groups:
        if not pg.has_network:
            continue  # VMkernel-only port groups have no Network object; libvirt leaves them out
        lines.append(f"  <portgroup name='{esc(pg.name)}'>")
        if pg.vlan:
            lines += ["    <vlan>", f"      <tag id='{pg.vlan}'/>", "    </vlan>"]
        if pg.bandwidth is not None:
            lines += pg.bandwidth.xml("    ")
        lines.append("  </portgroup>")
    lines.append("</network>")
    return "\n".join(lines) + "\n"
