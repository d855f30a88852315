"""``domains()``, ``scheduler()`` and ``hosts()`` against the simulator, checked against pyvmomi.

Expected values are read from the server with plain pyvmomi attribute access (a separate,
simple implementation), never hard-coded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim

from esxnb import errors
from esxnb._fastpc import Ref, Retrieval, _Page, decode
from esxnb.connection import Connection, connect
from esxnb.frames import DOMAIN_STATES, SHARES_LEVELS, TOOLS_STATUSES, domains_columns
from esxnb.simulator import Simulator
from helpers import ConnectProxy, connect_to

pytestmark = pytest.mark.simulator

STATE_WORDS = {"poweredOn": "running", "poweredOff": "shut off", "suspended": "paused"}


# -- helpers: the same facts read the slow, obvious pyvmomi way ------------------------------


def _uri(sim: Simulator, path: str = "", **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{sim.mode}://{sim.host}:{sim.port}/{path}" + (f"?{query}" if query else "")


def _vms_in(conn: Connection, container: Any) -> list[Any]:
    view = conn.content.viewManager.CreateContainerView(container, [vim.VirtualMachine], True)
    try:
        return list(view.view)
    finally:
        view.DestroyView()


def _datacenter(obj: Any) -> Any:
    while obj is not None and not isinstance(obj, vim.Datacenter):
        obj = obj.parent
    return obj


def _datacenter_path(dc: Any, root: Any) -> str:
    names = []
    while dc is not None and dc != root:
        names.append(dc.name)
        dc = dc.parent
    return "/".join(reversed(names))


def _below(obj: Any) -> list[str]:
    """Names from below the datacenter's top folder down to obj."""
    names = []
    while not isinstance(obj.parent, vim.Datacenter):
        names.append(obj.name)
        obj = obj.parent
    return list(reversed(names))


def _unescape(name: str) -> str:
    return name.replace("%2f", "/").replace("%5c", "\\").replace("%25", "%")


def expected_domains(conn: Connection) -> dict[str, dict[str, Any]]:
    root = conn.content.rootFolder
    rows = {}
    for vm in _vms_in(conn, conn.scope):
        config, runtime = vm.config, vm.runtime
        host = runtime.host
        compute = host.parent
        limit = config.memoryAllocation.limit
        state = STATE_WORDS[runtime.powerState]
        folder = _below(vm.parent)
        rows[vm._moId] = {
            "name": _unescape(vm.name),
            "uuid": config.uuid,
            "id": None if state == "shut off" else int(vm._moId.removeprefix("vm-")),
            "state": state,
            "max_memory_mib": config.hardware.memoryMB,
            "memory_mib": limit if limit is not None and limit >= 0 else config.hardware.memoryMB,
            "vcpus": config.hardware.numCPU,
            "guest_os": config.guestFullName,
            "guest_id": config.guestId,
            "vmx_path": config.files.vmPathName,
            "datastore": config.files.vmPathName.split("]")[0].lstrip("["),
            "host": host.name,
            "compute_resource": "/".join(_below(compute)),
            "cluster": "/".join(_below(compute)) if isinstance(compute, vim.ClusterComputeResource) else None,
            "datacenter": _datacenter_path(_datacenter(vm), root),
            "folder": "/" + "/".join(folder),
            "resource_pool": vm.resourcePool.name,
            "tools_status": vm.guest.toolsStatus,
            "tools_running": vm.guest.toolsRunningStatus == "guestToolsRunning",
        }
    return rows


def _value(value: Any) -> Any:
    return None if value is pd.NA or (isinstance(value, float) and value != value) else value


def assert_matches(frame: pd.DataFrame, expected: dict[str, dict[str, Any]]) -> None:
    assert sorted(frame["moref"]) == sorted(expected), "rows are not the VMs pyvmomi sees in the scope"
    for row in frame.to_dict("records"):
        want = expected[row["moref"]]
        got = {key: _value(row[key]) for key in want}
        assert got == want, f"row of {row['moref']} differs"


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree_sim() -> Iterator[Simulator]:
    """A datacenter in folder F0 with two clusters of two hosts, a standalone host, and VMs that
    this module powers off, suspends, renames and reconfigures."""
    with Simulator("vpx", folders=1, clusters=2, hosts=2, standalone_hosts=1, vms=2) as sim:
        with connect_to(sim) as conn:
            vms = {vm.name: vm for vm in _vms_in(conn, conn.content.rootFolder)}
            names = sorted(vms)
            WaitForTask(vms[names[0]].PowerOffVM_Task())
            WaitForTask(vms[names[1]].SuspendVM_Task())
            WaitForTask(vms[names[2]].Rename_Task("web%2fblue"))
            spec = vim.vm.ConfigSpec(
                cpuAllocation=vim.ResourceAllocationInfo(
                    reservation=500, limit=2000, shares=vim.SharesInfo(level="custom", shares=1234)
                ),
                memoryAllocation=vim.ResourceAllocationInfo(limit=16),
            )
            WaitForTask(vms[names[3]].ReconfigVM_Task(spec))
            high = vim.vm.ConfigSpec(
                cpuAllocation=vim.ResourceAllocationInfo(shares=vim.SharesInfo(level="high", shares=2000))
            )
            WaitForTask(vms[names[4]].ReconfigVM_Task(high))
        sim.set_tools(names[5], "toolsNotInstalled")
        yield sim


@pytest.fixture(scope="module")
def tree(tree_sim: Simulator) -> Iterator[Connection]:
    """A connection to the whole vCenter (no path)."""
    with connect_to(tree_sim, _uri(tree_sim)) as conn:
        yield conn


# -- domains() -----------------------------------------------------------------------------


def test_domains_match_pyvmomi(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        frame = conn.domains()
        assert len(frame) > 0
        assert_matches(frame, expected_domains(conn))


def test_domains_columns_and_dtypes(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        frame = conn.domains()
    empty = domains_columns()
    assert list(frame.columns) == list(empty.columns)
    assert (frame.dtypes == empty.dtypes).all()
    assert list(frame["state"].cat.categories[: len(DOMAIN_STATES)]) == list(DOMAIN_STATES)
    assert list(frame["tools_status"].cat.categories[: len(TOOLS_STATUSES)]) == list(TOOLS_STATUSES)
    for column in ("id", "max_memory_mib", "memory_mib", "vcpus"):
        assert str(frame[column].dtype) == "Int64"
    assert str(frame["tools_running"].dtype) == "boolean"
    assert str(frame["autostart"].dtype) == "boolean"
    assert str(frame["name"].dtype) == "string"


def test_row_order_is_datacenter_host_name(tree: Connection) -> None:
    frame = tree.domains()
    keys = list(zip(frame["datacenter"], frame["host"], frame["name"]))
    assert keys == sorted(keys)
    assert frame.index.equals(pd.RangeIndex(len(frame)))


def test_round_trips_do_not_grow_with_vms(tree_sim: Simulator) -> None:
    with connect_to(tree_sim, _uri(tree_sim)) as conn:
        first = conn.domains()
        again = conn.domains()
        scheduler = conn.scheduler()
        hosts = conn.hosts()
    assert len(first) >= 6
    # Two views, the retrieval and one look-up of the hosts' autostart managers at first...
    assert 1 <= first.attrs["round_trips"] <= 4
    # ...then the views are reused and the managers ride along: one round trip.
    assert again.attrs["round_trips"] == 1
    assert scheduler.attrs["round_trips"] == 1
    assert hosts.attrs["round_trips"] == 1


def test_whole_vcenter(tree: Connection) -> None:
    frame = tree.domains()
    assert tree.host is None
    assert_matches(frame, expected_domains(tree))
    assert frame["host"].nunique() >= 4


def test_datacenter_only_uri_covers_several_hosts(tree_sim: Simulator) -> None:
    with connect_to(tree_sim, _uri(tree_sim, "F0/DC0")) as conn:
        assert conn.host is None
        frame = conn.domains()
        expected = expected_domains(conn)
    assert_matches(frame, expected)
    assert frame["host"].nunique() >= 4
    assert set(frame["datacenter"]) == {"F0/DC0"}
    assert frame["cluster"].isna().any() and frame["cluster"].notna().any()


def test_cluster_path(tree_sim: Simulator) -> None:
    with connect_to(tree_sim, _uri(tree_sim, "F0/DC0/F0/DC0_C1")) as conn:
        frame = conn.domains()
        expected = expected_domains(conn)
        hosts_of_cluster = {h.name for h in conn.compute_resource.host}
    assert_matches(frame, expected)
    assert set(frame["cluster"]) == {"F0/DC0_C1"}
    assert set(frame["host"]) <= hosts_of_cluster


def test_host_path(tree_sim: Simulator) -> None:
    with connect_to(tree_sim, _uri(tree_sim, tree_sim.vpx_path)) as conn:
        frame = conn.domains()
        assert_matches(frame, expected_domains(conn))
        assert set(frame["host"]) <= {conn.location.host_name}


def test_no_verify_uri(sim: Simulator) -> None:
    with connect(sim.uri_with(no_verify=1), auth=(sim.username, sim.password)) as conn:
        frame = conn.domains()
        assert_matches(frame, expected_domains(conn))


def test_power_states_ids_names_and_tools(tree: Connection, tree_sim: Simulator) -> None:
    frame = tree.domains().set_index("moref")
    expected = expected_domains(tree)
    states = set(frame["state"])
    assert {"running", "paused", "shut off"} <= states
    off = frame[frame["state"] == "shut off"]
    assert off["id"].isna().all()
    assert frame.loc[frame["state"] != "shut off", "id"].notna().all()
    assert "web/blue" in set(frame["name"])  # stored as web%2fblue on the server
    assert "toolsNotInstalled" in set(frame["tools_status"])
    limited = [moref for moref, row in expected.items() if row["memory_mib"] != row["max_memory_mib"]]
    assert limited and (frame.loc[limited, "memory_mib"] == 16).all()


def test_autostart_comes_from_the_hosts_autostart_manager(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        frame = conn.domains()
        assert not frame["autostart"].isna().any()  # every host has a manager (off, as a fresh ESXi)
        name = frame["name"].iloc[0]
        domain = conn.domain(name)
        was = bool(frame.set_index("name").loc[name, "autostart"])
        try:
            domain.set_autostart(not was)
            assert bool(conn.domains().set_index("name").loc[name, "autostart"]) is (not was)
        finally:
            domain.set_autostart(was)
        assert bool(conn.domains().set_index("name").loc[name, "autostart"]) is was


def test_views_follow_inventory_changes(tree_sim: Simulator) -> None:
    with connect_to(tree_sim, _uri(tree_sim, "F0/DC0")) as conn:
        before = conn.domains()
        datacenter = conn.datacenter
        compute = [
            c for c in datacenter.hostFolder.childEntity[0].childEntity if isinstance(c, vim.ComputeResource)
        ][0]
        spec = vim.vm.ConfigSpec(
            name="fresh-vm",
            memoryMB=64,
            numCPUs=1,
            guestId="otherGuest",
            files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
        )
        task = datacenter.vmFolder.CreateVM_Task(config=spec, pool=compute.resourcePool, host=compute.host[0])
        WaitForTask(task)
        fresh = task.info.result
        fresh_moref, host_name = fresh._moId, compute.host[0].name  # pyVmomi objects die with the connection
        try:
            during = conn.domains()
        finally:
            WaitForTask(fresh.Destroy_Task())
        after = conn.domains()
    assert during.attrs["round_trips"] == after.attrs["round_trips"] == 1  # the cached views, not new ones
    assert set(during["moref"]) - set(before["moref"]) == {fresh_moref}
    row = during.set_index("moref").loc[fresh_moref]
    assert (row["name"], row["max_memory_mib"], row["host"]) == ("fresh-vm", 64, host_name)
    assert set(after["moref"]) == set(before["moref"])


# -- scheduler() -----------------------------------------------------------------------------


def test_scheduler_matches_pyvmomi(tree: Connection) -> None:
    frame = tree.scheduler()
    levels = {"low": -1, "normal": -2, "high": -3}
    vms = _vms_in(tree, tree.scope)
    assert sorted(frame["moref"]) == sorted(vm._moId for vm in vms)
    by_moref = frame.set_index("moref")
    for vm in vms:
        cpu = vm.config.cpuAllocation
        row = by_moref.loc[vm._moId]
        assert row["name"] == _unescape(vm.name)
        assert row["uuid"] == vm.config.uuid
        assert row["host"] == vm.runtime.host.name
        assert _value(row["reservation_mhz"]) == cpu.reservation
        assert _value(row["limit_mhz"]) == cpu.limit
        assert _value(row["shares"]) == cpu.shares.shares
        assert row["shares_level"] == cpu.shares.level
        assert row["shares_value"] == levels.get(cpu.shares.level, cpu.shares.shares)
    assert {"custom", "high", "normal"} <= set(frame["shares_level"])
    custom = frame[frame["shares_level"] == "custom"].iloc[0]
    assert (custom["reservation_mhz"], custom["limit_mhz"], custom["shares_value"]) == (500, 2000, 1234)
    assert list(frame["shares_level"].cat.categories[:4]) == list(SHARES_LEVELS)
    keys = list(zip(frame["datacenter"], frame["host"], frame["name"]))
    assert keys == sorted(keys)


def test_scheduler_both_modes(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        frame = conn.scheduler()
        vms = _vms_in(conn, conn.scope)
    assert len(frame) == len(vms)
    assert frame["limit_mhz"].notna().all() and frame["shares_value"].notna().all()


# -- hosts() ---------------------------------------------------------------------------------


def test_hosts_paths_connect_back(tree_sim: Simulator, tree: Connection) -> None:
    frame = tree.hosts()
    every_host = [h for dc in tree.content.rootFolder.childEntity for h in _hosts_below(dc)]
    assert sorted(frame["moref"]) == sorted(h._moId for h in every_host)
    for row in frame.to_dict("records"):
        host = vim.HostSystem(row["moref"], tree.session.stub)
        assert row["name"] == host.name
        assert row["vms"] == len(host.vm)
        assert row["connection_state"] == host.runtime.connectionState
        assert row["power_state"] == host.runtime.powerState
        # The path column is a working vpx:// path to exactly that host.
        with connect_to(tree_sim, _uri(tree_sim, row["path"])) as conn:
            assert conn.host._moId == row["moref"]
    assert frame["cluster"].notna().sum() == 4 and frame["cluster"].isna().sum() == 1


def _hosts_below(entity: Any) -> list[Any]:
    if isinstance(entity, vim.HostSystem):
        return [entity]
    if isinstance(entity, vim.Folder):
        return [h for child in entity.childEntity for h in _hosts_below(child)]
    if isinstance(entity, vim.Datacenter):
        return _hosts_below(entity.hostFolder)
    if isinstance(entity, vim.ComputeResource):
        return list(entity.host)
    return []


def test_hosts_of_a_cluster_and_of_an_esx_host(tree_sim: Simulator, esx_sim: Simulator) -> None:
    with connect_to(tree_sim, _uri(tree_sim, "F0/DC0/F0/DC0_C0")) as conn:
        frame = conn.hosts()
        assert sorted(frame["name"]) == sorted(h.name for h in conn.compute_resource.host)
    with connect_to(esx_sim) as conn:
        frame = conn.hosts()
        assert list(frame["name"]) == [conn.location.host_name]
        assert frame["cluster"].isna().all()


# -- failures --------------------------------------------------------------------------------


def test_expired_session_logs_in_again(sim: Simulator) -> None:
    with Simulator(sim.mode, session_idle_timeout=1) as short:
        with connect_to(short) as conn:
            before = conn.domains()
            time.sleep(2.5)
            after = conn.domains()
            assert_matches(after, expected_domains(conn))
    assert list(before["moref"]) == list(after["moref"])


def test_server_fault_maps_like_pyvmomi(tree_sim: Simulator) -> None:
    from esxnb._faults import translate
    from pyVmomi import vmodl

    with connect_to(tree_sim, _uri(tree_sim)) as conn:
        conn.domains()
        tree_sim.inject_fault("RetrievePropertiesEx", "InvalidState", "the inventory is resting", count=1)
        with pytest.raises(errors.EsxnbError) as fast:
            conn.domains()
        tree_sim.inject_fault("RetrievePropertiesEx", "InvalidState", "the inventory is resting", count=1)
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=conn.content.rootFolder)],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Folder, pathSet=["name"])],
        )
        with pytest.raises(errors.EsxnbError) as slow, translate("pyvmomi"):
            conn.content.propertyCollector.RetrievePropertiesEx(
                [spec], vmodl.query.PropertyCollector.RetrieveOptions()
            )
        assert type(fast.value) is type(slow.value)
        assert "the inventory is resting" in str(fast.value)
        assert getattr(fast.value, "fault_type", None) == getattr(slow.value, "fault_type", None)
        assert "InvalidState" in str(getattr(fast.value, "fault_type", ""))
        assert len(conn.domains()) > 0  # the connection still works


def test_not_authenticated_fault_retries_once(tree_sim: Simulator) -> None:
    with connect_to(tree_sim, _uri(tree_sim)) as conn:
        expected = len(conn.domains())
        tree_sim.inject_fault("RetrievePropertiesEx", "NotAuthenticated", count=1)
        assert len(conn.domains()) == expected
        tree_sim.inject_fault("RetrievePropertiesEx", "NotAuthenticated", count=2)
        try:
            with pytest.raises(errors.SessionExpiredError):
                conn.domains()
        finally:
            tree_sim.clear_faults()
        assert len(conn.domains()) == expected


def test_slow_server_times_out_then_recovers(tree_sim: Simulator) -> None:
    with connect_to(tree_sim, _uri(tree_sim), timeout=1) as conn:
        conn.domains()
        tree_sim.set_delay("RetrievePropertiesEx", 3)
        try:
            with pytest.raises(errors.TimeoutError, match=r"did not answer within 1 s \(the request timeout"):
                conn.domains()
        finally:
            tree_sim.clear_faults()
        time.sleep(2.5)  # let the delayed call finish on the server side
        assert len(conn.domains()) > 0


# -- the decoder on its own -------------------------------------------------------------------

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    '<soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>{objects}{token}</returnval>'
    "</RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>"
)


def _page(objects: str, token: str = "", chunk: int = 7) -> tuple[Retrieval, _Page]:
    body = _ENVELOPE.format(objects=objects, token=f"<token>{token}</token>" if token else "").encode()
    result = Retrieval()
    page = _Page(result)
    for i in range(0, len(body), chunk):  # tiny chunks: element boundaries fall anywhere
        page.feed(body[i : i + chunk])
    page.close()
    return result, page


def test_decoder_types_and_paging_token() -> None:
    objects = (
        '<objects><obj type="VirtualMachine">vm-7</obj>'
        '<propSet><name>name</name><val xsi:type="xsd:string">a &amp; b &lt;c&gt; \u00e9</val></propSet>'
        '<propSet><name>n</name><val xsi:type="xsd:int">-42</val></propSet>'
        '<propSet><name>on</name><val xsi:type="xsd:boolean">true</val></propSet>'
        '<propSet><name>empty</name><val xsi:type="xsd:string"></val></propSet>'
        '<propSet><name>host</name><val xsi:type="ManagedObjectReference" type="HostSystem">host-1</val></propSet>'
        '<propSet><name>vm</name><val xsi:type="ArrayOfManagedObjectReference">'
        '<ManagedObjectReference type="VirtualMachine">vm-1</ManagedObjectReference>'
        '<ManagedObjectReference type="VirtualMachine">vm-2</ManagedObjectReference></val></propSet>'
        '<propSet><name>cpu</name><val xsi:type="ResourceAllocationInfo"><reservation>5</reservation>'
        "<shares><shares>10</shares><level>custom</level></shares></val></propSet>"
        '<missingSet><path>guest</path><fault><fault xsi:type="NoPermission"/></fault></missingSet>'
        "</objects>"
    )
    result, page = _page(objects, token="next-1")
    assert page.token == "next-1"
    table = result.table("VirtualMachine")
    assert table.refs == [Ref("VirtualMachine", "vm-7")]
    row = table.rows[0]
    assert row["name"] == "a & b <c> \u00e9"
    assert row["n"] == -42 and row["on"] is True and row["empty"] == ""
    assert row["host"] == Ref("HostSystem", "host-1")
    assert row["vm"] == [Ref("VirtualMachine", "vm-1"), Ref("VirtualMachine", "vm-2")]
    assert row["cpu"]["shares"] == {"shares": "10", "level": "custom"}
    assert "guest" not in row


def test_a_page_read_ahead_tells_its_token_then_waits_for_its_turn_to_decode() -> None:
    import threading

    objects = (
        '<objects><obj type="Folder">group-1</obj>'
        '<propSet><name>name</name><val xsi:type="xsd:string">f</val></propSet></objects>'
    )
    body = _ENVELOPE.format(objects=objects, token="<token>t</token>").encode()
    turn = threading.Lock()
    turn.acquire()  # the page before is still decoding
    told: list[str] = []
    result = Retrieval()
    page = _Page(result, told.append, turn, ahead=True)
    for i in range(0, len(body), 50):
        page.feed(body[i : i + 50])
    assert result.tables == {} and told == []  # kept, not parsed until complete
    closing = threading.Thread(target=page.close)
    closing.start()
    for _ in range(500):
        if told:
            break
        time.sleep(0.01)
    assert told == ["t"] and result.tables == {}  # the next page can be asked for already
    turn.release()
    closing.join(5)
    assert result.table("Folder").rows == [{"name": "f"}] and turn.locked()
    page.release()
    assert not turn.locked()


def test_a_token_read_early_must_be_the_one_the_parser_finds() -> None:
    told: list[str] = []
    body = _ENVELOPE.format(objects="", token="<token>real</token>").encode()
    forged = body.replace(b"<soapenv:Body>", b"<!-- <returnval><token>forged</token> --><soapenv:Body>")
    page = _Page(Retrieval(), told.append, ahead=True)
    page.feed(forged)
    assert told == ["forged"]  # asked for at once, on the strength of the first bytes
    with pytest.raises(errors.ServerFault, match="paging token 'real' is not 'forged'"):
        page.close()
    honest = _Page(Retrieval(), told.append, ahead=True)
    honest.feed(body)
    honest.close()
    assert told == ["forged", "real"] and honest.token == "real"


def test_a_page_read_ahead_over_the_limit_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    import esxnb._fastpc as fastpc

    monkeypatch.setattr(fastpc, "_WHOLE_LIMIT", 64)
    objects = "".join(
        f'<objects><obj type="Folder">group-{i}</obj>'
        f'<propSet><name>name</name><val xsi:type="xsd:string">f{i}</val></propSet></objects>'
        for i in range(3)
    )
    body = _ENVELOPE.format(objects=objects, token="").encode()
    result = Retrieval()
    page = _Page(result, ahead=True)
    page.feed(body[:40])
    assert page.parser is None  # kept
    page.feed(body[40:])
    assert page.parser is not None and page.kept is None  # streaming now
    page.close()
    assert [row["name"] for row in result.table("Folder").rows] == ["f0", "f1", "f2"]


def test_decoder_reports_missing_objects_and_lost_sessions() -> None:
    gone = (
        '<objects><obj type="HostAutoStartManager">ha-autostart-mgr</obj><missingSet><path></path>'
        '<fault><fault xsi:type="ManagedObjectNotFound"/></fault></missingSet></objects>'
    )
    result, page = _page(gone)
    assert result.missing_objects == {Ref("HostAutoStartManager", "ha-autostart-mgr")}
    assert not page.not_authenticated
    lost = (
        '<objects><obj type="Folder">group-d1</obj><missingSet><path>name</path>'
        '<fault><fault xsi:type="NotAuthenticated"/></fault></missingSet></objects>'
    )
    _result, page = _page(lost)
    assert page.not_authenticated


def test_decoder_refuses_entities() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        '<r><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="Folder">f</obj>'
        "<propSet><name>name</name><val>&d;</val></propSet></objects></returnval></RetrievePropertiesExResponse></r>"
    )
    page = _Page(Retrieval())
    with pytest.raises(errors.ServerFault, match="entity"):
        page.feed(bomb.encode())
        page.close()


def test_decode_nested_repeated_elements() -> None:
    from lxml import etree

    element = etree.fromstring(
        '<val xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:type="HostAutoStartManagerConfig"><defaults><enabled>true</enabled></defaults>'
        '<powerInfo><key type="VirtualMachine">vm-1</key><startAction>powerOn</startAction></powerInfo>'
        '<powerInfo><key type="VirtualMachine">vm-2</key><startAction>none</startAction></powerInfo></val>'
    )
    value = decode(element)
    assert value["defaults"] == {"enabled": "true"}
    assert [p["key"] for p in value["powerInfo"]] == [
        Ref("VirtualMachine", "vm-1"),
        Ref("VirtualMachine", "vm-2"),
    ]


# -- transports --------------------------------------------------------------------------------


def test_through_an_http_proxy(tree_sim: Simulator) -> None:
    proxy = ConnectProxy()
    try:
        uri = _uri(tree_sim, "F0/DC0", proxy=f"http://127.0.0.1:{proxy.port}")
        with connect_to(tree_sim, uri) as conn:
            conn.domains()
            before = proxy.relayed
            frame = conn.domains()
            assert proxy.relayed - before > 5000  # the answer came through the tunnel
            assert proxy.tunnels >= 1
            assert_matches(frame, expected_domains(conn))
    finally:
        proxy.close()


def test_plain_http_transport() -> None:
    with Simulator("esx", transport="http") as plain:
        with connect_to(plain) as conn:
            assert conn.session.ssl_context is None
            assert_matches(conn.domains(), expected_domains(conn))
