"""libvirt's ``<network>`` XML for ESX vSwitches: parsed as its ESX driver checks it, written as
it writes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import errors
from .._libvirt_xml import child_text, esc, parse_root
from ._model import DEFAULT_MTU, Bandwidth, NetworkInfo

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["NetworkDef", "PortGroupDef", "parse_network_xml", "format_network_xml"]


@dataclass(frozen=True)
class PortGroupDef:
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
    port_groups: tuple[PortGroupDef, ...]


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
        port_groups.append(PortGroupDef(pg_name, vlan, _bandwidth(element, f"port group {pg_name!r}")))
    return NetworkDef(
        name=name,
        uplinks=tuple(uplinks),
        bandwidth=_bandwidth(root, f"network {name!r}"),
        mtu=mtu,
        port_groups=tuple(port_groups),
    )


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
