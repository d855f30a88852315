"""Physical NICs of the bound host as libvirt interfaces, as libvirt's ESX interface driver
shows them: always active, ``<interface type='ethernet'>`` with the NIC's MAC address and its
IPv4 configuration."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors
from ._collect import retrieve
from ._libvirt_xml import esc
from ._protocol import ConnectionLike, Facet
from ._tables import Column, TableSpec, records_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Interface", "InterfaceInfo", "InterfaceFacet", "list_interfaces", "find_interface", "INTERFACES"]

_PATHS = ("config.network.pnic", "config.network.vswitch", "config.network.proxySwitch")

INTERFACES = TableSpec(
    name="interfaces",
    types=(),
    paths=(),
    columns=(
        Column("name", "string"),
        Column("mac", "string"),
        Column("driver", "string"),
        Column("link", "string"),
        Column("speed_mb", "Int64"),
        Column("duplex", "string"),
        Column("pci", "string"),
        Column("switch", "string"),
        Column("dhcp", "boolean"),
        Column("ip", "string"),
        Column("netmask", "string"),
    ),
)


@dataclass(frozen=True)
class InterfaceInfo:
    """One physical NIC. ``link`` is up/down; ``switch`` the vSwitch (or distributed switch)
    it is an uplink of."""

    name: str
    mac: str
    driver: str | None
    link: str
    speed_mb: int | None
    duplex: str | None
    pci: str | None
    switch: str | None
    dhcp: bool | None
    ip: str | None
    netmask: str | None

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in INTERFACES.column_names}


def _uplinks(props: dict[str, Any]) -> dict[str, str]:
    """``{pnic key: switch name}`` for standard and distributed switches."""
    found: dict[str, str] = {}
    for vswitch in props.get("config.network.vswitch") or []:
        for key in vswitch.pnic or []:
            found[key] = vswitch.name
    for proxy in props.get("config.network.proxySwitch") or []:
        for key in proxy.pnic or []:
            found[key] = proxy.dvsName
    return found


def _read(conn: ConnectionLike) -> list[InterfaceInfo]:
    host = conn.require_host("listing interfaces")
    props = retrieve(conn.content, [host], _PATHS).get(host, {})
    uplinks = _uplinks(props)
    found = []
    for pnic in props.get("config.network.pnic") or []:
        speed = pnic.linkSpeed
        ip = getattr(pnic.spec, "ip", None) if pnic.spec is not None else None
        found.append(
            InterfaceInfo(
                name=pnic.device,
                mac=pnic.mac,
                driver=pnic.driver,
                link="up" if speed is not None else "down",
                speed_mb=speed.speedMb if speed is not None else None,
                duplex=("full" if speed.duplex else "half") if speed is not None else None,
                pci=pnic.pci,
                switch=uplinks.get(pnic.key),
                dhcp=bool(ip.dhcp) if ip is not None else None,
                ip=(ip.ipAddress or None) if ip is not None else None,
                netmask=(ip.subnetMask or None) if ip is not None else None,
            )
        )
    return sorted(found, key=lambda i: i.name)


def list_interfaces(conn: ConnectionLike) -> pd.DataFrame:
    """One row per physical NIC of the bound host."""
    return records_frame(INTERFACES, (i.row() for i in _read(conn)))


def find_interface(conn: ConnectionLike, name: str) -> Interface:
    """The NIC called ``name`` (e.g. vmnic0) or with MAC address ``name``."""
    found = _read(conn)
    for info in found:
        if name == info.name or name.lower() == info.mac.lower():
            return Interface(conn, info.name)
    names = [i.name for i in found]
    raise errors.NotFoundError(
        f"no interface {name!r} on {conn.location.host_name}; there are: {', '.join(names) or 'none'}",
        suggestions=names,
    )


class Interface:
    """One physical NIC: ``info()`` and ``xml()``."""

    def __init__(self, conn: ConnectionLike, name: str) -> None:
        self.conn = conn
        self.name = name

    def __repr__(self) -> str:
        return f"<esxnb.Interface {self.name!r}>"

    def info(self) -> InterfaceInfo:
        for info in _read(self.conn):
            if info.name == self.name:
                return info
        raise errors.NotFoundError(f"interface {self.name!r} is gone")

    def xml(self, *, inactive: bool = False) -> str:
        """The NIC in libvirt's ``<interface>`` format, as its ESX interface driver writes it
        (``inactive``: as ``virsh iface-dumpxml --inactive``, without a DHCP lease's address)."""
        return format_interface_xml(self.info(), inactive=inactive)


def format_interface_xml(info: InterfaceInfo, *, inactive: bool = False) -> str:
    lines = [f"<interface type='ethernet' name='{esc(info.name)}'>", "  <start mode='onboot'/>"]
    has_address = bool(info.ip and info.netmask)
    if info.dhcp is not None and (info.dhcp or has_address):
        lines.append("  <protocol family='ipv4'>")
        if info.dhcp:
            lines.append("    <dhcp/>")
        if has_address and not (info.dhcp and inactive):
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{info.netmask}").prefixlen
            lines.append(
                f"    <ip address='{esc(info.ip)}'" + (f" prefix='{prefix}'" if prefix else "") + "/>"
            )
        lines.append("  </protocol>")
    lines.append(f"  <mac address='{esc(info.mac)}'/>")
    lines.append("</interface>")
    return "\n".join(lines) + "\n"


class InterfaceFacet(Facet):
    """What the interface kind adds to ``Connection``: ``interfaces()`` and ``interface()``."""

    __slots__ = ()

    def interfaces(self) -> pd.DataFrame:
        """The bound host's physical NICs as libvirt interfaces, one row each."""
        return list_interfaces(self._conn)

    def interface(self, name: str) -> Interface:
        """The NIC called ``name`` (e.g. vmnic0) or with MAC address ``name``."""
        return find_interface(self._conn, name)
