"""``define_network(xml)``: a vSwitch, its uplinks, shaping and port groups, all or nothing."""

from __future__ import annotations

from typing import Any

from pyVmomi import vim

from .. import errors
from .._faults import translate
from .._protocol import ConnectionLike
from ._host import Network, read_host_network
from ._model import NUM_PORTS, Bandwidth
from ._xml import parse_network_xml

__all__ = ["define_network"]


def _policy(bandwidth: Bandwidth | None) -> Any:
    policy = vim.host.NetworkPolicy()
    if bandwidth is not None:
        policy.shapingPolicy = bandwidth.to_policy()
    return policy


def define_network(conn: ConnectionLike, xml: str | bytes) -> Network:
    """Create the vSwitch, uplinks, shaping and port groups ``xml`` describes; all or nothing."""
    definition = parse_network_xml(xml)
    hn = read_host_network(conn, "defining a network")
    host_name = conn.location.host_name
    if hn.vswitch(definition.name) is not None:
        raise errors.ExistsError(
            f"network (vSwitch) {definition.name!r} exists already on {host_name}; not changing it"
        )
    existing = hn.port_group_names()
    for pg in definition.port_groups:
        if pg.name in existing:
            raise errors.ExistsError(f"port group {pg.name!r} exists already on {host_name}")
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
