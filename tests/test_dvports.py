"""``Connection.dvports()``: one row per distributed port, checked against raw pyVmomi."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from esxnb import errors
from esxnb.connection import Connection
from esxnb.estate import table_spec
from esxnb.simulator import Simulator
from helpers import connect_to

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def demo() -> Iterator[Simulator]:
    with Simulator(estate="demo", seed=0) as sim:
        yield sim


@pytest.fixture(scope="module")
def conn(demo: Simulator) -> Connection:
    return connect_to(demo, f"vpx://{demo.host}:{demo.port}/")


@pytest.fixture(scope="module")
def ports(conn: Connection) -> pd.DataFrame:
    return conn.dvports()


@pytest.fixture(scope="module")
def si(demo: Simulator) -> Iterator[Any]:
    si = SmartConnect(
        host=demo.host, port=demo.port, user=demo.username, pwd=demo.password, sslContext=demo.ssl_context()
    )
    yield si
    Disconnect(si)


def _all(si: Any, kind: type) -> list[Any]:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


@pytest.fixture(scope="module")
def switches(si: Any) -> dict[str, list[Any]]:
    return {dvs._moId: list(dvs.FetchDVPorts()) for dvs in _all(si, vim.DistributedVirtualSwitch)}


@pytest.fixture(scope="module")
def dvs_nics(si: Any) -> list[tuple[str, Any]]:
    """(VM moref, NIC) for every VM NIC on a distributed port group."""
    return [
        (vm._moId, dev)
        for vm in _all(si, vim.VirtualMachine)
        for dev in vm.config.hardware.device
        if isinstance(dev, vim.vm.device.VirtualEthernetCard)
        and isinstance(dev.backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo)
    ]


def test_ports_per_switch_match_fetch_dvports(ports: pd.DataFrame, switches: dict[str, list[Any]]) -> None:
    assert len(switches) == 2
    assert ports.groupby("switch_moref").size().to_dict() == {m: len(p) for m, p in switches.items()}
    assert not ports.duplicated(["switch_moref", "port_key"]).any()
    for moref, raw in switches.items():
        keys = [p.key for p in raw]
        assert len(keys) == len(set(keys)), f"port keys repeat on {moref}"
        assert all(p.portgroupKey for p in raw)


def test_every_vm_nic_sits_on_exactly_one_port(ports: pd.DataFrame, dvs_nics: list[tuple[str, Any]]) -> None:
    assert len(dvs_nics) > 100
    connected = ports[ports["connected"]]
    assert len(connected) == len(dvs_nics)
    for vm, nic in dvs_nics:
        port = nic.backing.port
        row = connected[(connected["vm_moref"] == vm) & (connected["nic_key"] == nic.key)]
        assert len(row) == 1, (vm, nic.key)
        assert row.iloc[0]["port_key"] == port.portKey and row.iloc[0]["mac"] == nic.macAddress
        assert row.iloc[0]["connectee_type"] == "VirtualMachine"
    assert connected["connectee"].notna().all()
    assert ports.loc[~ports["connected"], ["connectee", "vm_moref", "mac"]].isna().all().all()


def test_port_keys_exist_in_their_port_group(si: Any, dvs_nics: list[tuple[str, Any]]) -> None:
    groups = {pg.key: set(pg.portKeys) for pg in _all(si, vim.dvs.DistributedVirtualPortgroup)}
    for _, nic in dvs_nics:
        assert nic.backing.port.portKey in groups[nic.backing.port.portgroupKey]


def test_vlan_and_port_group_match_the_port_group_config(ports: pd.DataFrame, si: Any) -> None:
    checked = 0
    for pg in _all(si, vim.dvs.DistributedVirtualPortgroup):
        mine = ports[ports["portgroup_moref"] == pg._moId]
        assert len(mine) == pg.config.numPorts
        if not pg.config.numPorts:
            continue
        assert set(mine["portgroup"]) == {pg.name}
        vlan = pg.config.defaultPortConfig.vlan
        if isinstance(vlan, vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec):
            assert set(mine["vlan"]) == {str(vlan.vlanId)}
        checked += isinstance(vlan, vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec)
    assert checked == 6 and ports["portgroup"].notna().all()


def test_runtime_state_follows_power(ports: pd.DataFrame, si: Any) -> None:
    power = {vm._moId: vm.runtime.powerState for vm in _all(si, vim.VirtualMachine)}
    connected = ports[ports["connected"]]
    link = connected["vm_moref"].map(power) == "poweredOn"
    assert (connected["link_up"] == link).all() and link.any() and (~link).any()
    assert not connected["blocked"].any()


def test_criteria_filter_on_the_server(si: Any, switches: dict[str, list[Any]]) -> None:
    dvs = next(d for d in _all(si, vim.DistributedVirtualSwitch))
    raw = switches[dvs._moId]
    pg_key = raw[0].portgroupKey
    by_group = dvs.FetchDVPorts(vim.dvs.PortCriteria(portgroupKey=[pg_key]))
    assert {p.portgroupKey for p in by_group} == {pg_key}
    assert len(by_group) == sum(p.portgroupKey == pg_key for p in raw)
    used = dvs.FetchDVPorts(vim.dvs.PortCriteria(connected=True))
    assert len(used) == sum(p.connectee is not None for p in raw) and all(p.connectee for p in used)
    one = dvs.FetchDVPorts(vim.dvs.PortCriteria(portKey=[raw[5].key]))
    assert [p.key for p in one] == [raw[5].key]


def test_estate_gives_the_same_frame(conn: Connection, ports: pd.DataFrame) -> None:
    estate = conn.estate(["dvports"])
    pd.testing.assert_frame_equal(estate["dvports"], ports)
    assert "dvports" in conn.estate()


def test_excel_sheet(conn: Connection, tmp_path: Any) -> None:
    from openpyxl import load_workbook

    book = load_workbook(conn.estate(["dvports", "dv_portgroups"]).to_excel(tmp_path / "e.xlsx"))
    # RVTools' dvPort sheet lists port groups (esxnb's dv_portgroups); it has no sheet per port.
    assert {"dvPort", "dvports"} <= set(book.sheetnames)
    assert [c.value for c in book["dvports"][1]][:3] == ["switch", "port_key", "portgroup"]


def test_esx_host_has_no_ports() -> None:
    with Simulator("esx") as esx:
        frame = connect_to(esx).dvports()
    assert frame.empty
    assert list(frame.columns) == [c.name for c in table_spec("dvports").columns]


def test_a_fault_names_the_switch(demo: Simulator, conn: Connection) -> None:
    demo.inject_fault("FetchDVPorts", "NotSupported", "no ports today", count=1)
    with pytest.raises(errors.EsxnbError, match="distributed switch DVS0.*no ports today"):
        conn.dvports()
    assert len(conn.dvports()) > 0


def test_diff_follows_a_port_when_its_vm_powers_off(conn: Connection, ports: pd.DataFrame, si: Any) -> None:
    from pyVim.task import WaitForTask

    before = conn.estate(["dvports"])
    row = ports[ports["link_up"].fillna(False)].iloc[0]
    vm = vim.VirtualMachine(row["vm_moref"], si._stub)
    WaitForTask(vm.PowerOffVM_Task())
    changes = conn.estate(["dvports"]).diff(before)
    assert changes[["table", "column", "before", "after"]].values.tolist() == [
        ["dvports", "link_up", "True", "False"]
    ]
    assert row["switch_moref"] in str(changes.iloc[0]["key"]) and row["port_key"] in str(
        changes.iloc[0]["key"]
    )


def test_vlan_text_for_ids_and_trunks() -> None:
    from esxnb.estate._dvports import _vlan

    spec = vim.dvs.VmwareDistributedVirtualSwitch
    trunk = spec.TrunkVlanSpec(
        vlanId=[vim.NumericRange(start=100, end=200), vim.NumericRange(start=300, end=300)]
    )
    assert _vlan(spec.VmwarePortConfigPolicy(vlan=trunk)) == "100-200,300"
    assert _vlan(spec.VmwarePortConfigPolicy(vlan=spec.VlanIdSpec(vlanId=0))) == "0"
    assert _vlan(None) is None
