"""Networks (standard vSwitches) against the simulator in both modes: networks defined from
XML appear with their port groups, VLANs, uplinks and shaping in raw pyvmomi's
host.config.network, undefine removes them, and nothing is left half-defined."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import pytest
from lxml import etree
from pyVmomi import vim

from esxnb import errors
from esxnb.connection import Connection
from esxnb.networks import Bandwidth, Network, parse_network_xml
from esxnb.simulator import Simulator
from esxnb.tasks import wait_for_task
from helpers import connect_to

pytestmark = pytest.mark.simulator

XML = """<network>
  <name>vSwitch7</name>
  <forward mode='bridge'>
    <interface dev='vmnic1'/>
  </forward>
  <mtu size='9000'/>
  <bandwidth>
    <inbound average='1000' peak='2000' burst='512'/>
    <outbound average='1000' peak='2000' burst='512'/>
  </bandwidth>
  <portgroup name='prod'>
    <vlan>
      <tag id='10'/>
    </vlan>
  </portgroup>
  <portgroup name='lab'>
    <bandwidth>
      <inbound average='500'/>
      <outbound average='500'/>
    </bandwidth>
  </portgroup>
</network>
"""


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=1, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


@pytest.fixture
def defined(conn: Connection) -> Iterator[Network]:
    network = conn.define_network(XML)
    yield network
    if "vSwitch7" in set(conn.networks()["name"]):
        network.undefine()


def _raw(conn: Connection) -> vim.host.NetworkInfo:
    return conn.host.config.network


def _md5_uuid(text: str) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(text.encode()).digest()))


def test_defined_network_appears_in_raw_host_config(conn: Connection, defined: Network) -> None:
    net = _raw(conn)
    vswitch = next(v for v in net.vswitch if v.name == "vSwitch7")
    assert list(vswitch.pnic) == ["key-vim.host.PhysicalNic-vmnic1"]
    assert vswitch.mtu == 9000 and vswitch.spec.numPorts == 128
    shaping = vswitch.spec.policy.shapingPolicy
    assert shaping.enabled and shaping.averageBandwidth == 8_000_000
    assert shaping.peakBandwidth == 16_000_000 and shaping.burstSize == 512 * 1024
    groups = {pg.spec.name: pg for pg in net.portgroup if pg.vswitch == vswitch.key}
    assert set(groups) == {"prod", "lab"}
    assert groups["prod"].spec.vlanId == 10 and groups["lab"].spec.vlanId == 0
    assert groups["lab"].spec.policy.shapingPolicy.averageBandwidth == 4_000_000
    assert sorted(vswitch.portgroup) == sorted(pg.key for pg in groups.values())
    names = {n.name for n in conn.host.network}
    assert {"prod", "lab"} <= names


def test_network_table_and_xml_carry_what_pyvmomi_reads(conn: Connection, defined: Network) -> None:
    vswitch = next(v for v in _raw(conn).vswitch if v.name == "vSwitch7")
    row = conn.networks().set_index("name").loc["vSwitch7"]
    assert row["uuid"] == _md5_uuid(vswitch.key)
    assert row["uplinks"] == "vmnic1" and row["mtu"] == 9000
    assert row["port_groups"] == "prod, lab" and row["vlans"] == "10, 0"
    assert row["shaping_average_kbps"] == 1000 and row["shaping_burst_kb"] == 512
    root = etree.fromstring(defined.xml())
    assert root.findtext("name") == "vSwitch7" and root.findtext("uuid") == _md5_uuid(vswitch.key)
    assert root.find("forward").get("mode") == "bridge"
    assert [i.get("dev") for i in root.findall("forward/interface")] == ["vmnic1"]
    assert root.find("mtu").get("size") == "9000"
    assert root.find("bandwidth/inbound").attrib == {"average": "1000", "peak": "2000", "burst": "512"}
    groups = {pg.get("name"): pg for pg in root.findall("portgroup")}
    assert groups["prod"].find("vlan/tag").get("id") == "10"
    assert groups["lab"].find("bandwidth/outbound").get("average") == "500"
    # the XML defines the same network again elsewhere (without its derived uuid)
    again = parse_network_xml(defined.xml().replace(f"  <uuid>{root.findtext('uuid')}</uuid>\n", ""))
    assert again == parse_network_xml(XML)


def test_undefine_removes_vswitch_port_groups_and_networks(conn: Connection, defined: Network) -> None:
    defined.undefine()
    net = _raw(conn)
    assert "vSwitch7" not in {v.name for v in net.vswitch}
    assert not {"prod", "lab"} & {pg.spec.name for pg in net.portgroup}
    assert not {"prod", "lab"} & {n.name for n in conn.host.network}
    assert "vSwitch7" not in set(conn.networks()["name"])
    with pytest.raises(errors.NotFoundError, match="vSwitch7"):
        conn.network("vSwitch7")


def test_existing_names_are_refused_and_nothing_changes(conn: Connection, defined: Network) -> None:
    before = _raw(conn)
    with pytest.raises(errors.ExistsError, match="'vSwitch7' exists already"):
        conn.define_network(XML)
    with pytest.raises(errors.ExistsError, match="port group 'prod' exists already"):
        conn.define_network(XML.replace("vSwitch7", "vSwitch8").replace("vmnic1", "vmnic0"))
    after = _raw(conn)
    assert [v.name for v in after.vswitch] == [v.name for v in before.vswitch]
    assert [p.spec.name for p in after.portgroup] == [p.spec.name for p in before.portgroup]


def test_uplinks_must_exist_and_be_free(conn: Connection) -> None:
    with pytest.raises(errors.ValidationError, match="no physical NIC 'vmnic9'.*vmnic0, vmnic1"):
        conn.define_network(
            "<network><name>v9</name><forward mode='bridge'><interface dev='vmnic9'/></forward></network>"
        )
    with pytest.raises(errors.InvalidStateError, match="'vmnic0' is already an uplink of vSwitch 'vSwitch0'"):
        conn.define_network("<network><name>v9</name><forward dev='vmnic0' mode='bridge'/></network>")
    assert "v9" not in {v.name for v in _raw(conn).vswitch}


def test_failed_port_group_rolls_back_the_vswitch(sim: Simulator, conn: Connection) -> None:
    sim.inject_fault("AddPortGroup", "HostConfigFault", "injected port group failure", count=1)
    try:
        with pytest.raises(errors.ServerFault, match="injected port group failure"):
            conn.define_network(XML)
    finally:
        sim.clear_faults()
    net = _raw(conn)
    assert "vSwitch7" not in {v.name for v in net.vswitch}
    assert not {"prod", "lab"} & {pg.spec.name for pg in net.portgroup}


def test_undefine_refused_while_a_vm_uses_a_port_group(conn: Connection, defined: Network) -> None:
    vm = conn.host.vm[0]
    nic = next(d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard))
    prod = next(n for n in conn.host.network if n.name == "prod")
    original = nic.backing
    nic.backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName="prod", network=prod)
    change = vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic)
    wait_for_task(conn, vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])))
    try:
        with pytest.raises(errors.InvalidStateError, match=f"in use: 'prod' by VM {vm.name}$"):
            defined.undefine()
        assert "vSwitch7" in {v.name for v in _raw(conn).vswitch}
    finally:
        nic.backing = original
        wait_for_task(conn, vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])))


def test_undefine_refused_for_a_vmkernel_port_group(conn: Connection) -> None:
    with pytest.raises(errors.InvalidStateError, match="'Management Network' by VMkernel NIC vmk0"):
        conn.network("vSwitch0").undefine()
    assert "vSwitch0" in {v.name for v in _raw(conn).vswitch}


def test_vswitch0_xml_is_libvirts(conn: Connection) -> None:
    vswitch = next(v for v in _raw(conn).vswitch if v.name == "vSwitch0")
    assert conn.network("vSwitch0").xml() == (
        "<network>\n"
        "  <name>vSwitch0</name>\n"
        f"  <uuid>{_md5_uuid(vswitch.key)}</uuid>\n"
        "  <forward dev='vmnic0' mode='bridge'>\n"
        "    <interface dev='vmnic0'/>\n"
        "  </forward>\n"
        "  <portgroup name='VM Network'>\n"
        "  </portgroup>\n"
        "</network>\n"
    )


def test_network_without_uplinks_is_an_isolated_bridge(conn: Connection) -> None:
    network = conn.define_network("<network><name>isolated</name><portgroup name='iso-pg'/></network>")
    try:
        root = etree.fromstring(network.xml())
        assert root.find("forward") is None
        assert root.find("bridge").attrib == {"stp": "off", "delay": "0"}
        assert not next(v for v in _raw(conn).vswitch if v.name == "isolated").pnic
        assert list(network.port_groups()["name"]) == ["iso-pg"]
    finally:
        network.undefine()


def test_vpx_networks_need_a_host(vpx_sim: Simulator) -> None:
    with connect_to(vpx_sim, vpx_sim.uri.split("/DC0")[0] + "/DC0") as conn:
        with pytest.raises(errors.ValidationError, match="needs one host"):
            conn.networks()


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<network><name>n</name><forward mode='nat'/></network>", "unsupported forward mode 'nat'"),
        (
            "<network><name>n</name><uuid>0cc175b9-c0f1-b6a8-31c3-99e269772661</uuid></network>",
            "<uuid> cannot be given",
        ),
        ("<network><forward mode='bridge'/></network>", "needs a <name>"),
        (
            "<network><name>n</name><bandwidth><inbound average='1'/><outbound average='2'/></bandwidth></network>",
            "different inbound and outbound bandwidth is unsupported",
        ),
        (
            "<network><name>n</name><portgroup name='p'><vlan><tag id='5000'/></vlan></portgroup></network>",
            "id='5000' must be between 0 and 4095",
        ),
        ("<network><name>n</name><portgroup name='p'/><portgroup name='p'/></network>", "'p' is given twice"),
        (
            "<network><name>n</name><mtu size='100000'/></network>",
            "size='100000' must be between 1280 and 9000",
        ),
        ("<pool/>", "must have a <network> root element"),
    ],
)
def test_bad_network_xml_names_the_problem(xml: str, message: str) -> None:
    with pytest.raises(errors.EsxnbError, match=message.replace("(", r"\(")):
        parse_network_xml(xml)


def test_bandwidth_scaling_is_libvirts() -> None:
    policy = Bandwidth(average=1000, peak=2000, burst=512).to_policy()
    assert (policy.averageBandwidth, policy.peakBandwidth, policy.burstSize) == (
        8_000_000,
        16_000_000,
        524288,
    )
    assert Bandwidth.from_policy(policy) == Bandwidth(1000, 2000, 512)
    assert Bandwidth().to_policy() is None
    off = vim.host.NetworkPolicy.TrafficShapingPolicy(enabled=False, averageBandwidth=5)
    assert Bandwidth.from_policy(off) is None
