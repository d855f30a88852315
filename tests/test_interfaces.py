"""Interfaces (physical NICs) against the simulator in both modes, compared with raw pyvmomi;
the <interface> writer against libvirt's format."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from esxnb import errors
from esxnb.connection import Connection
from esxnb.interfaces import InterfaceInfo, format_interface_xml
from esxnb.simulator import Simulator

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=1, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


def test_interfaces_table_carries_what_pyvmomi_reads(conn: Connection) -> None:
    net = conn.host.config.network
    uplinks = {key: v.name for v in net.vswitch for key in v.pnic or []}
    table = conn.interfaces().set_index("name")
    assert sorted(table.index) == sorted(p.device for p in net.pnic)
    for pnic in net.pnic:
        row = table.loc[pnic.device]
        assert row["mac"] == pnic.mac and row["driver"] == pnic.driver and row["pci"] == pnic.pci
        assert row["link"] == "up" and row["speed_mb"] == pnic.linkSpeed.speedMb
        assert row["duplex"] == ("full" if pnic.linkSpeed.duplex else "half")
        assert (row["switch"] if isinstance(row["switch"], str) else None) == uplinks.get(pnic.key)
    assert table.loc["vmnic0", "switch"] == "vSwitch0"


def test_interface_xml_parses_and_matches_pyvmomi(conn: Connection) -> None:
    pnic = next(p for p in conn.host.config.network.pnic if p.device == "vmnic1")
    root = etree.fromstring(conn.interface("vmnic1").xml())
    assert root.tag == "interface" and root.attrib == {"type": "ethernet", "name": "vmnic1"}
    assert root.find("start").get("mode") == "onboot"
    assert root.find("mac").get("address") == pnic.mac
    assert root.find("protocol") is None  # no IP configuration on the NIC itself


def test_interface_by_mac_and_unknown_names(conn: Connection) -> None:
    mac = conn.interfaces().set_index("name").loc["vmnic0", "mac"]
    assert conn.interface(mac.upper()).name == "vmnic0"
    with pytest.raises(errors.NotFoundError, match="no interface 'eth0'.*vmnic0, vmnic1"):
        conn.interface("eth0")


def _nic(**ip: object) -> InterfaceInfo:
    values = dict(dhcp=False, ip=None, netmask=None)
    values.update(ip)
    return InterfaceInfo(
        "vmnic0", "00:0c:29:81:d8:a0", "ixgben", "up", 10000, "full", "0000:0b:00.0", None, **values
    )  # type: ignore[arg-type]


def test_interface_xml_with_static_address_is_libvirts() -> None:
    assert format_interface_xml(_nic(ip="192.168.1.10", netmask="255.255.255.0")) == (
        "<interface type='ethernet' name='vmnic0'>\n"
        "  <start mode='onboot'/>\n"
        "  <protocol family='ipv4'>\n"
        "    <ip address='192.168.1.10' prefix='24'/>\n"
        "  </protocol>\n"
        "  <mac address='00:0c:29:81:d8:a0'/>\n"
        "</interface>\n"
    )


def test_interface_xml_with_dhcp_drops_the_lease_when_inactive() -> None:
    nic = _nic(dhcp=True, ip="10.0.0.5", netmask="255.255.0.0")
    assert "<dhcp/>\n    <ip address='10.0.0.5' prefix='16'/>" in format_interface_xml(nic)
    inactive = format_interface_xml(nic, inactive=True)
    assert "<dhcp/>" in inactive and "<ip " not in inactive
