"""What a network is: its shaping, port groups and vSwitch, and its tables' columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyVmomi import vim

from .._libvirt_xml import md5_uuid
from .._tables import Column, TableSpec

__all__ = ["Bandwidth", "PortGroupInfo", "NetworkInfo", "NETWORKS", "PORT_GROUPS", "NUM_PORTS", "DEFAULT_MTU"]

#: libvirt creates every vSwitch with this many ports
NUM_PORTS = 128
#: ESX's vSwitch MTU unless told otherwise (esxnb writes <mtu> only for other values)
DEFAULT_MTU = 1500

NETWORKS = TableSpec(
    name="networks",
    types=(),
    paths=(),
    columns=(
        Column("name", "string"),
        Column("uuid", "string"),
        Column("uplinks", "string"),
        Column("mtu", "Int64"),
        Column("ports", "Int64"),
        Column("ports_available", "Int64"),
        Column("port_groups", "string"),
        Column("vlans", "string"),
        Column("allow_promiscuous", "boolean"),
        Column("mac_changes", "boolean"),
        Column("forged_transmits", "boolean"),
        Column("teaming", "string"),
        Column("shaping_average_kbps", "Int64"),
        Column("shaping_peak_kbps", "Int64"),
        Column("shaping_burst_kb", "Int64"),
    ),
)
PORT_GROUPS = TableSpec(
    name="network_port_groups",
    types=(),
    paths=(),
    columns=(
        Column("name", "string"),
        Column("network", "string"),
        Column("vlan", "Int64"),
        Column("active_ports", "Int64"),
        Column("port_types", "string"),
        Column("has_network", "boolean"),
        Column("shaping_average_kbps", "Int64"),
        Column("shaping_peak_kbps", "Int64"),
        Column("shaping_burst_kb", "Int64"),
    ),
)


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
