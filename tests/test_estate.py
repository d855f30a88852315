"""The estate tables against the demo estate, checked with raw pyvmomi object by object; the
Excel and Parquet exports, diffs and history; the health rules; ``esxnb estate`` / ``health``."""

from __future__ import annotations

import datetime as dt
import re
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

import esxnb
from esxnb.cli import main
from esxnb.errors import ExistsError, IncompleteDataWarning, NotFoundError, ValidationError
from esxnb.estate import RULES, RVTOOLS, Estate, health
from esxnb.simulator import Simulator
from helpers import connect_to


@pytest.fixture(scope="module")
def demo() -> Iterator[Simulator]:
    with Simulator(estate="demo", seed=0) as sim:
        yield sim


@pytest.fixture(scope="module")
def conn(demo: Simulator) -> Iterator[esxnb.Connection]:
    with connect_to(demo, f"vpx://{demo.host}:{demo.port}/") as connection:
        yield connection


@pytest.fixture(scope="module")
def estate(conn: esxnb.Connection) -> Estate:
    return conn.estate()


@pytest.fixture(scope="module")
def pv(demo: Simulator) -> Iterator[Any]:
    si = SmartConnect(
        host=demo.host, port=demo.port, user=demo.username, pwd=demo.password, sslContext=demo.ssl_context()
    )
    yield si.RetrieveContent()
    Disconnect(si)


def _all(content: Any, kind: type) -> list[Any]:
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def _walk(nodes: Any) -> Iterator[Any]:
    for node in nodes or []:
        yield node
        yield from _walk(node.childSnapshotList)


def test_one_retrieval_for_every_table(estate: Estate) -> None:
    from_pc = [name for name in estate if name not in ("datastore_files", "dvports")]
    assert {estate[name].attrs["round_trips"] for name in from_pc} == {estate["vms"].attrs["round_trips"]}
    assert (
        estate["vms"].attrs["round_trips"] <= 8
    )  # views (first use), one RetrievePropertiesEx, no per-VM call
    assert estate.source.startswith("vpx://") and "@" not in estate.source
    assert estate.server["product"] and estate.server["instance_uuid"] is not None
    assert isinstance(estate.taken_at, dt.datetime) and estate.taken_at.tzinfo is not None
    with pytest.raises(TypeError):
        estate["vms"] = estate["vms"]  # type: ignore[index]
    with pytest.raises(KeyError, match="no table 'vinfo'; it has vms"):
        estate["vinfo"]
    assert estate.vms is estate["vms"]


def test_columns_computed_while_the_pages_come_change_nothing(
    conn: esxnb.Connection, estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over many pages, the VM tables' columns computed page by page (and those that need the
    whole read, computed at the end) give the same frames as computing everything at the end."""
    import esxnb._tables._read as table_reader
    from esxnb._tables import _early

    names = [name for name in estate if name != "datastore_files"]
    monkeypatch.setattr(table_reader, "PAGE_SIZE", 37)
    followed = []
    page = _early.EarlyColumns.page
    monkeypatch.setattr(_early.EarlyColumns, "page", lambda self, p: followed.append(p) or page(self, p))
    early = conn.estate(names)
    assert len(followed) > 5  # the pages were followed
    monkeypatch.setattr(_early, "_VM", ("NoTableHasThisType",))  # now everything at the end
    late = conn.estate(names)
    for name in names:
        aging = [c for c in early[name].columns if c.startswith("age")]  # measured from now
        pd.testing.assert_frame_equal(
            early[name].drop(columns=aging), late[name].drop(columns=aging), obj=name
        )
    assert early["vms"].attrs["round_trips"] == late["vms"].attrs["round_trips"]


def test_row_counts_match_pyvmomi(estate: Estate, pv: Any) -> None:
    vms = _all(pv, vim.VirtualMachine)
    devices = [d for vm in vms for d in vm.config.hardware.device]
    assert len(estate["vms"]) == len(estate["vm_cpu"]) == len(estate["tools"]) == len(vms) == 300
    assert len(estate["disks"]) == sum(isinstance(d, vim.vm.device.VirtualDisk) for d in devices)
    assert len(estate["nics"]) == sum(isinstance(d, vim.vm.device.VirtualEthernetCard) for d in devices)
    assert len(estate["cdroms"]) == sum(isinstance(d, vim.vm.device.VirtualCdrom) for d in devices)
    assert len(estate["partitions"]) == sum(len(vm.guest.disk) for vm in vms)
    assert len(estate["snapshots"]) == sum(
        len(list(_walk(vm.snapshot.rootSnapshotList))) for vm in vms if vm.snapshot
    )
    assert len(estate["hosts"]) == len(_all(pv, vim.HostSystem)) == 18
    assert len(estate["clusters"]) == len(_all(pv, vim.ClusterComputeResource)) == 4
    assert len(estate["datastores"]) == len(_all(pv, vim.Datastore))
    assert len(estate["resource_pools"]) == len(_all(pv, vim.ResourcePool))
    assert len(estate["dv_portgroups"]) == len(_all(pv, vim.dvs.DistributedVirtualPortgroup))
    hosts = _all(pv, vim.HostSystem)
    assert len(estate["dvswitches"]) == len(_all(pv, vim.DistributedVirtualSwitch)) == 2
    assert len(estate["host_nics"]) == sum(len(h.config.network.pnic) for h in hosts)
    assert len(estate["vmkernel_nics"]) == sum(len(h.config.network.vnic) for h in hosts)
    assert len(estate["switches"]) == sum(len(h.config.network.vswitch) for h in hosts)
    assert len(estate["port_groups"]) == sum(len(h.config.network.portgroup) for h in hosts)
    assert len(estate["hbas"]) == sum(len(h.config.storageDevice.hostBusAdapter) for h in hosts)
    assert len(estate["multipaths"]) == sum(len(h.config.storageDevice.multipathInfo.lun) for h in hosts)
    assert list(estate["licenses"]["key"]) == [lic.licenseKey for lic in pv.licenseManager.licenses]
    backup = estate["port_groups"][estate["port_groups"]["name"] == "Backup"]
    assert len(backup) == 18 and set(backup["vlan"]) == {200}
    assert (
        set(estate["switches"]["uplinks"]) <= {"vmnic0", "vmnic0, vmnic1"}
        or estate["switches"]["uplinks"].str.startswith("vmnic").all()
    )


def test_values_match_pyvmomi_object_by_object(estate: Estate, pv: Any) -> None:
    fields = {f.key: f.name for f in pv.customFieldsManager.field}
    vms = sorted(_all(pv, vim.VirtualMachine), key=lambda vm: vm.name)[::15]
    info = estate["vms"].set_index("moref")
    disks, nics, snaps = estate["disks"], estate["nics"], estate["snapshots"]
    for vm in vms:
        moref = vm._moId
        row = info.loc[moref]
        assert row["name"] == vm.name and row["memory_mib"] == vm.config.hardware.memoryMB
        assert row["vcpus"] == vm.config.hardware.numCPU and row["power_state"] == vm.runtime.powerState
        assert row["hw_version"] == vm.config.version and row["uuid"] == vm.config.uuid
        assert bool(row["template"]) == vm.config.template
        for value in vm.customValue:
            assert row[f"attr_{fields[value.key].lower()}"] == value.value
        mine = disks[disks["vm_moref"] == moref].sort_values("key")
        theirs = sorted(
            (d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)),
            key=lambda d: d.key,
        )
        assert list(mine["capacity_mib"]) == [d.capacityInKB / 1024 for d in theirs]
        assert list(mine["file"]) == [d.backing.fileName for d in theirs]
        assert list(mine["thin"]) == [bool(d.backing.thinProvisioned) for d in theirs]
        macs = [
            d.macAddress
            for d in vm.config.hardware.device
            if isinstance(d, vim.vm.device.VirtualEthernetCard)
        ]
        assert sorted(nics.loc[nics["vm_moref"] == moref, "mac"]) == sorted(macs)
        nodes = list(_walk(vm.snapshot.rootSnapshotList)) if vm.snapshot else []
        mine_snaps = snaps[snaps["vm_moref"] == moref]
        assert sorted(mine_snaps["name"]) == sorted(n.name for n in nodes)
        assert sorted(mine_snaps["created"]) == sorted(pd.Timestamp(n.createTime) for n in nodes)
    ds_table = estate["datastores"].set_index("moref")
    for ds in _all(pv, vim.Datastore):
        assert ds_table.loc[ds._moId, "capacity_mib"] == round(ds.summary.capacity / 2**20, 1)
        assert ds_table.loc[ds._moId, "free_mib"] == round(ds.summary.freeSpace / 2**20, 1)
    hosts = estate["hosts"].set_index("moref")
    for host in _all(pv, vim.HostSystem):
        assert hosts.loc[host._moId, "cpu_model"] == host.summary.hardware.cpuModel
        assert hosts.loc[host._moId, "esxi_build"] == host.config.product.build
        assert hosts.loc[host._moId, "attr_rack"] == next(v.value for v in host.customValue)


def test_estate_columns_join_and_say_their_units(estate: Estate) -> None:
    vms = estate["vms"]
    assert {"attr_owner", "attr_costcenter", "attr_application", "attr_backuppolicy"} <= set(vms.columns)
    assert vms.attrs["custom_attributes"]["attr_owner"] == "Owner"
    joined = estate["disks"].merge(vms[["moref", "cluster"]], left_on="vm_moref", right_on="moref")
    assert len(joined) == len(estate["disks"])
    assert set(estate["nics"]["mac_range"]) >= {"generated", "vcenter", "static", "outside"}
    named = estate["nics"][estate["nics"]["distributed"].fillna(False).astype(bool)]["network"]
    assert named.str.match(r"^(ams|fra)-(app|db|dmz)-v\d+$").all(), "distributed port groups by name"
    assert str(vms["created_at"].dtype).startswith("datetime64") and str(vms["memory_mib"].dtype) == "Int64"


def test_datastore_files_find_the_orphans(estate: Estate) -> None:
    files = estate["datastore_files"]
    orphans = files[files["orphaned"].fillna(False).astype(bool)]
    assert len(orphans) >= 3
    assert set(orphans["kind"]) == {"disk"}
    used = set(estate["disks"]["file"])
    assert not set(orphans["path"]) & used
    assert used <= set(files["path"]), "every VM disk is found on its datastore"


def test_a_refused_property_is_reported_never_shown_unset(demo: Simulator, conn: esxnb.Connection) -> None:
    name = sorted(v["name"] for v in demo.vms())[0]
    demo.restrict_property(name, "config.hardware")
    try:
        with pytest.warns(IncompleteDataWarning, match="config.hardware"):
            disks = conn.disks()
        assert disks.attrs["missing"] and disks.attrs["missing"][0]["path"] == "config.hardware"
    finally:
        demo.clear_restrictions()


# -- export ---------------------------------------------------------------------------


def test_excel_has_rvtools_sheets_and_headers(estate: Estate, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = estate.to_excel(tmp_path / "estate.xlsx")
    book = load_workbook(path)
    assert {
        "vInfo",
        "vCPU",
        "vMemory",
        "vDisk",
        "vPartition",
        "vNetwork",
        "vCD",
        "vSnapshot",
        "vTools",
        "vRP",
        "vCluster",
        "vHost",
        "vDatastore",
    } <= set(book.sheetnames)
    frames = {**estate, "metadata": estate.metadata()}
    for table, (sheet_name, headers) in RVTOOLS.items():
        sheet = book[sheet_name]
        first_row = [c.value for c in next(sheet.iter_rows(max_row=1))]
        expected = [h for c, h in headers.items() if c in frames[table].columns]
        assert first_row[: len(expected)] == expected, sheet_name
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
        assert sheet.max_row == len(frames[table]) + 1
    meta = dict(zip(*(tuple(c.value for c in row) for row in book["vMetaData"].iter_rows(max_row=2))))
    assert meta["Server"] == estate.server_name and meta["source"] == estate.source
    assert isinstance(meta["taken_at"], dt.datetime) and isinstance(
        meta["xlsx creation datetime"], dt.datetime
    )
    assert meta["product"] == estate.server["product"] and "VMware" in meta["product"]
    vinfo = book["vInfo"]
    created = [
        c.value
        for c in next(vinfo.iter_cols(min_col=list(RVTOOLS["vms"][1]).index("created_at") + 1, max_row=5))
    ][1:]
    assert all(isinstance(v, dt.datetime) for v in created), "dates are dates"
    assert "Owner" in [c.value for c in next(vinfo.iter_rows(max_row=1))], (
        "custom attributes under their own names"
    )
    esxnb_layout = load_workbook(estate.to_excel(tmp_path / "mine.xlsx", layout="esxnb"))
    assert "vms" in esxnb_layout.sheetnames


def test_excel_never_overwrites_by_accident(estate: Estate, tmp_path: Path) -> None:
    path = tmp_path / "estate.xlsx"
    path.write_bytes(b"somebody's report")
    with pytest.raises(ExistsError, match="overwrite=True"):
        estate.to_excel(path)
    assert path.read_bytes() == b"somebody's report"
    with pytest.raises(ValidationError, match="layout must be one of rvtools, esxnb"):
        estate.to_excel(tmp_path / "x.xlsx", layout="csv")
    assert not list(tmp_path.glob(".esxnb-*")), "no partial file left behind"


def test_parquet_round_trips_dtypes(estate: Estate, tmp_path: Path) -> None:
    folder = estate.to_parquet(tmp_path / "pq")
    back = esxnb.read_estate(folder)
    assert list(back) == list(estate) and back.source == estate.source and back.server == estate.server
    for name in estate:
        pd.testing.assert_frame_equal(back[name], estate[name], check_dtype=True)
    with pytest.raises(ExistsError):
        estate.to_parquet(folder)
    with pytest.raises(NotFoundError, match="estate.json is missing"):
        esxnb.read_estate(tmp_path)


# -- over time --------------------------------------------------------------------------


def test_diff_and_history_see_a_vm_added_a_disk_grown_a_snapshot_removed(tmp_path: Path) -> None:
    with (
        Simulator(estate="demo", seed=1, vms=30) as sim,
        connect_to(sim, f"vpx://{sim.host}:{sim.port}/") as c,
        connect_to(sim) as on_host,  # define needs a host
    ):
        before = c.estate()
        source = on_host.domains()["name"].iloc[0]
        copy = on_host.domain(source).dumpxml().replace(f"<name>{source}</name>", "<name>added-vm</name>")
        on_host.define(re.sub(r"\s*<uuid>[^<]*</uuid>", "", copy))
        disk = before["disks"].iloc[0]
        vm = c.domain(disk["vm"]).vm
        device = next(d for d in vm.config.hardware.device if d.key == disk["key"])
        device.capacityInKB += 1024 * 1024
        spec = vim.vm.ConfigSpec(
            deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="edit", device=device)]
        )
        from esxnb.tasks import wait_for_task

        wait_for_task(c, vm.ReconfigVM_Task(spec))
        snap = before["snapshots"].iloc[0]
        c.domain(snap["domain"]).snapshot(snap["name"]).delete()
        time.sleep(1.1)  # a distinct taken= folder
        after = c.estate()
    changes = after.diff(before)
    added = changes[(changes["table"] == "vms") & (changes["change"] == "added")]
    assert list(added["label"]) == ["added-vm"]
    grown = changes[(changes["table"] == "disks") & (changes["column"] == "capacity_mib")]
    assert len(grown) == 1 and float(grown.iloc[0]["after"]) == float(grown.iloc[0]["before"]) + 1024
    removed = changes[(changes["table"] == "snapshots") & (changes["change"] == "removed")]
    assert snap["moref"] in set(removed["key"])
    assert not ((changes["table"] == "snapshots") & (changes["column"] == "age_days")).any(), (
        "volatile columns left out"
    )

    root = tmp_path / "history"
    before.to_parquet(root, dataset=True)
    after.to_parquet(root, dataset=True)
    with esxnb.history(root) as past:
        assert len(past.estates()) == 2
        counts = past.sql("SELECT taken, count(*) AS vms FROM vms GROUP BY taken ORDER BY taken")
        assert list(counts["vms"]) == [30, 31]
        grew = past.sql(
            "SELECT vm, max(capacity_mib) - min(capacity_mib) AS grown FROM disks GROUP BY vm_moref, key, vm "
            "HAVING grown > 0"
        )
        assert list(grew["vm"]) == [disk["vm"]]


# -- health ---------------------------------------------------------------------------


def test_every_health_rule_fires_on_the_demo_estate(estate: Estate) -> None:
    findings = estate.health()
    fired = set(findings["rule"])
    assert {rule.name for rule in RULES} == fired, f"quiet: {sorted({r.name for r in RULES} - fired)}"
    assert set(findings["severity"]) == {"info", "warning", "critical"}
    assert findings.attrs["skipped"] == []
    disconnected = findings[(findings["rule"] == "host_state") & (findings["severity"] == "critical")]
    assert list(disconnected["entity"]) == ["esx-fra-r04.lab.example"]
    full = findings[findings["rule"] == "datastore_free"]
    assert "ams-prod-vmfs02" in set(full["entity"])


def test_fail_on_raises_only_at_the_level_asked(estate: Estate) -> None:
    from esxnb.estate import fail_on, reaching

    findings = estate.health()
    assert len(reaching(findings, "info")) == len(findings)
    assert set(reaching(findings, "warning")["severity"]) == {"warning", "critical"}
    fail_on(findings, None)
    fail_on(findings[findings["severity"] == "info"], "warning")
    with pytest.raises(
        esxnb.errors.HealthCheckFailed, match=r"critical finding\(s\) at or above 'critical'.*datastore_free"
    ):
        fail_on(findings, "critical")
    with pytest.raises(esxnb.errors.ValidationError, match="'fatal' is not one of info, warning, critical"):
        fail_on(findings, "fatal")


def _one_row(frame: pd.DataFrame, **values: Any) -> pd.DataFrame:
    row = frame.iloc[[0]].copy()
    for column, value in values.items():
        row[column] = pd.array([value], dtype=frame[column].dtype)
    return row


CRAFTED: dict[str, tuple[str, dict[str, Any]]] = {
    "snapshot_old": ("snapshots", {"age_days": 400.0}),
    "snapshot_large": ("snapshots", {"size_mib": 50 * 1024.0, "age_days": 1.0}),
    "tools": ("tools", {"tools_status": "toolsNotInstalled"}),
    "cdrom_connected": ("cdroms", {"connected": True}),
    "consolidation_needed": (
        "vms",
        {
            "consolidation_needed": True,
            "template": False,
            "hw_version": "vmx-19",
            "vcpus": 2,
            "memory_mib": 4096,
            "power_state": "poweredOff",
        },
    ),
    "datastore_free": ("datastores", {"free_pct": 3.0}),
    "partition_free": ("partitions", {"free_pct": 2.0}),
    "mac_outside_vmware": ("nics", {"mac_range": "outside", "mac": "52:54:00:12:34:56"}),
    "spec_restrictions": (
        "vms",
        {
            "vcpus": 3,
            "hw_version": "vmx-19",
            "memory_mib": 4096,
            "power_state": "poweredOff",
            "consolidation_needed": False,
        },
    ),
    "old_hw_version": (
        "vms",
        {
            "hw_version": "vmx-8",
            "vcpus": 2,
            "memory_mib": 4096,
            "power_state": "poweredOff",
            "consolidation_needed": False,
        },
    ),
    "host_state": ("hosts", {"connection_state": "disconnected"}),
    "orphaned_files": ("datastore_files", {"orphaned": True}),
}


@pytest.mark.parametrize("rule", sorted(CRAFTED))
def test_each_rule_fires_on_a_crafted_case_and_stays_quiet_on_a_clean_one(estate: Estate, rule: str) -> None:
    clean = {name: frame.iloc[0:0] for name, frame in estate.items()}
    assert health(clean).empty
    table, values = CRAFTED[rule]
    crafted = dict(clean, **{table: _one_row(estate[table], **values)})
    assert set(health(crafted)["rule"]) == {rule}


def test_overcommit_rules_on_crafted_hosts(estate: Estate) -> None:
    clean = {name: frame.iloc[0:0] for name, frame in estate.items()}
    host = _one_row(
        estate["hosts"],
        name="h1",
        cpu_cores=4,
        memory_mib=8192,
        connection_state="connected",
        maintenance_mode=False,
    )
    vm = _one_row(
        estate["vms"],
        host="h1",
        vcpus=20,
        memory_mib=16384,
        power_state="poweredOn",
        template=False,
        hw_version="vmx-19",
        consolidation_needed=False,
    )
    found = health(dict(clean, hosts=host, vms=vm))
    assert set(found["rule"]) == {"cpu_overcommit", "memory_overcommit"}
    quiet = health(dict(clean, hosts=host, vms=_one_row(vm, vcpus=2, memory_mib=4096)))
    assert quiet.empty


def test_thresholds_are_keyword_arguments(estate: Estate) -> None:
    lenient = estate.health(snapshot_age_days=100_000, snapshot_size_gib=100_000)
    assert not {"snapshot_old", "snapshot_large"} & set(lenient["rule"])
    with pytest.raises(ValidationError, match="unknown threshold.*snapshot_age_days \\(default 30\\)"):
        estate.health(snapshot_days=3)
    missing = health({"vms": estate["vms"]})
    assert (
        "orphaned_files" in missing.attrs["skipped"]
        and "consolidation_needed" not in missing.attrs["skipped"]
    )


# -- command line -----------------------------------------------------------------------


@pytest.fixture
def run(demo: Simulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("ESXNB_USERNAME", demo.username)
    monkeypatch.setenv("ESXNB_PASSWORD", demo.password)
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(tmp_path / "none.conf"))
    uri = f"vpx://{demo.host}:{demo.port}/?no_verify=1"

    def go(*argv: str) -> tuple[int, str, str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main(["-c", uri, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return go


def test_cli_estate_writes_and_refuses_to_overwrite(run: Any, tmp_path: Path) -> None:
    target = tmp_path / "estate.xlsx"
    code, out, err = run("estate", "-o", str(target), "--tables", "vms,disks")
    assert code == 0 and target.is_file() and "vms" in out and "[100%] done" in err
    size = target.stat().st_size
    code, out, err = run("estate", "-o", str(target))
    assert code == 1 and "overwrite" in err and target.stat().st_size == size
    code, out, err = run("estate", "-o", str(tmp_path / "x.xlsx"), "--tables", "vinfo")
    assert code == 1 and "unknown estate table(s) vinfo" in err


def test_cli_health_exit_status(run: Any, tmp_path: Path) -> None:
    code, out, err = run("health")
    assert code == 0 and "critical" in out and "consolidation_needed" in out
    code, out, err = run("health", "--fail-on", "critical", "-o", str(tmp_path / "h.csv"))
    assert code == 3 and (tmp_path / "h.csv").is_file()
    code, out, err = run("health", "--threshold", "nope=1")
    assert code == 1 and "unknown threshold" in err
    counts = Counter(pd.read_csv(tmp_path / "h.csv")["severity"])
    assert counts["critical"] >= 2


def test_inventory_gathers_estate_tables_from_many_servers() -> None:
    with Simulator(estate="demo", seed=4, vms=12) as a, Simulator(estate="demo", seed=5, vms=9) as b:
        uris = [f"vpx://{s.host}:{s.port}/" for s in (a, b)]
        with connect_to(a, uris[0]) as ca, connect_to(b, uris[1]) as cb:
            both = esxnb.inventory([ca, cb], tables=["vms", "disks"])
        assert isinstance(both, Estate) and list(both) == ["vms", "disks"]
        assert Counter(both["vms"]["server"]) == {str(ca.uri): 12, str(cb.uri): 9}
        assert list(both["vms"].columns[:2]) == ["server", "name"]
        assert set(both["disks"]["server"]) == {str(ca.uri), str(cb.uri)}
        assert both["vms"].attrs["errors"] == {}
