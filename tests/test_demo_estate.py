"""The demo estate (``Simulator(estate="demo")``) seen through raw pyvmomi: its variety, its
determinism, and each VM's ``.vmx`` agreeing with what the API shows."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from esxnb.datastore import download
from esxnb.errors import SimulatorError
from esxnb.simulator import Simulator
from esxnb.vmx import parse_vmx
from helpers import connect_to

VM_PATHS = [
    "name",
    "config.guestId",
    "config.template",
    "config.hardware",
    "config.version",
    "config.firmware",
    "config.uuid",
    "config.annotation",
    "config.cpuAllocation",
    "config.memoryAllocation",
    "config.files.vmPathName",
    "config.createDate",
    "runtime.powerState",
    "guest.toolsStatus",
    "guest.ipAddress",
    "guest.hostName",
    "guest.net",
    "guest.disk",
    "snapshot",
    "customValue",
    "layoutEx",
]


def _si(sim: Simulator) -> Any:
    return SmartConnect(
        host=sim.host, port=sim.port, user=sim.username, pwd=sim.password, sslContext=sim.ssl_context()
    )


def _retrieve(si: Any, kind: type, paths: list[str]) -> list[dict[str, Any]]:
    """Every object of ``kind`` with ``paths``, in one RetrievePropertiesEx (plus continuations)."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[
            vmodl.query.PropertyCollector.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[
                    vmodl.query.PropertyCollector.TraversalSpec(
                        name="v", path="view", skip=False, type=vim.view.ContainerView
                    )
                ],
            )
        ],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=paths)],
    )
    pc = content.propertyCollector
    result = pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
    rows = []
    while result:
        for obj in result.objects:
            row = {p.name: p.val for p in obj.propSet}
            row["_obj"] = obj.obj
            rows.append(row)
        result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
    view.Destroy()
    return rows


@pytest.fixture(scope="module")
def demo() -> Iterator[Simulator]:
    with Simulator(estate="demo", seed=0) as sim:
        yield sim


@pytest.fixture(scope="module")
def si(demo: Simulator) -> Iterator[Any]:
    si = _si(demo)
    yield si
    Disconnect(si)


@pytest.fixture(scope="module")
def vms(si: Any) -> list[dict[str, Any]]:
    return _retrieve(si, vim.VirtualMachine, VM_PATHS)


def _devices(vm: dict[str, Any], kind: type) -> list[Any]:
    return [d for d in vm["config.hardware"].device if isinstance(d, kind)]


def _mac_range(mac: str) -> str:
    if mac.startswith("00:0c:29:"):
        return "esx-generated"
    if mac.startswith("00:50:56:"):
        third = int(mac[9:11], 16)
        return "static" if third <= 0x3F else "vcenter" if 0x80 <= third <= 0xBF else "other-vmware"
    return "outside"


def test_size_and_guest_operating_systems(vms: list[dict[str, Any]]) -> None:
    assert len(vms) == 300
    guests = Counter(vm["config.guestId"] for vm in vms)
    assert len(guests) >= 20, guests
    assert max(guests.values()) < 0.2 * len(vms), guests
    families = {g.split("_")[0].rstrip("0123456789") for g in guests}
    assert {"windows", "rhel", "ubuntu", "sles", "vmwarePhoton"} <= families | {
        g.replace("64Guest", "") for g in guests
    }


def test_power_states_templates_firmware_and_hardware_versions(vms: list[dict[str, Any]]) -> None:
    states = Counter(vm["runtime.powerState"] for vm in vms)
    assert set(states) == {"poweredOn", "poweredOff", "suspended"}
    assert states["poweredOn"] > states["poweredOff"] > states["suspended"] > 0
    templates = [vm for vm in vms if vm["config.template"]]
    assert templates and all(vm["runtime.powerState"] == "poweredOff" for vm in templates)
    assert Counter(vm["config.firmware"] for vm in vms).keys() == {"bios", "efi"}
    assert len({vm["config.version"] for vm in vms}) >= 5
    assert sum(bool(vm.get("config.annotation")) for vm in vms) > 50


def test_sizes(vms: list[dict[str, Any]]) -> None:
    memory = [vm["config.hardware"].memoryMB for vm in vms]
    vcpus = [vm["config.hardware"].numCPU for vm in vms]
    assert min(memory) <= 1024 and max(memory) >= 131072
    assert min(vcpus) == 1 and max(vcpus) >= 24
    assert any(vm["config.hardware"].numCoresPerSocket > 1 for vm in vms)
    for vm in vms:
        hw = vm["config.hardware"]
        assert hw.numCPU % max(hw.numCoresPerSocket, 1) == 0, vm["name"]


def test_disks_controllers_and_cdroms(vms: list[dict[str, Any]]) -> None:
    per_vm = Counter(len(_devices(vm, vim.vm.device.VirtualDisk)) for vm in vms)
    assert set(per_vm) <= set(range(1, 7)) and {1, 2, 3} <= set(per_vm) and max(per_vm) >= 5
    kinds = Counter()
    for vm in vms:
        for disk in _devices(vm, vim.vm.device.VirtualDisk):
            b = disk.backing
            kinds["thin" if b.thinProvisioned else "eager" if b.eagerlyScrub else "thick"] += 1
            assert disk.capacityInKB >= 10 << 20
    assert kinds["thin"] and kinds["thick"] and kinds["eager"]
    controllers = Counter(
        type(c).__name__ for vm in vms for c in _devices(vm, vim.vm.device.VirtualSCSIController)
    )
    assert {
        "vim.vm.device.ParaVirtualSCSIController",
        "vim.vm.device.VirtualLsiLogicController",
        "vim.vm.device.VirtualLsiLogicSASController",
        "vim.vm.device.VirtualBusLogicController",
    } <= set(controllers)
    cdroms = [c for vm in vms for c in _devices(vm, vim.vm.device.VirtualCdrom)]
    iso = [c for c in cdroms if isinstance(c.backing, vim.vm.device.VirtualCdrom.IsoBackingInfo)]
    assert iso and all(c.connectable.startConnected for c in iso)
    assert any(not c.connectable.startConnected for c in cdroms)


def test_nics_and_mac_ranges(vms: list[dict[str, Any]]) -> None:
    per_vm = Counter(len(_devices(vm, vim.vm.device.VirtualEthernetCard)) for vm in vms)
    assert set(per_vm) == {1, 2, 3, 4}
    nics = [n for vm in vms for n in _devices(vm, vim.vm.device.VirtualEthernetCard)]
    models = {type(n).__name__.rsplit(".", 1)[1] for n in nics}
    assert {"VirtualVmxnet3", "VirtualE1000", "VirtualE1000e", "VirtualPCNet32"} <= models
    ranges = Counter(_mac_range(n.macAddress) for n in nics)
    assert {"esx-generated", "static", "vcenter", "outside"} <= set(ranges), ranges
    assert len({n.macAddress for n in nics}) == len(nics)
    backings = {type(n.backing).__name__ for n in nics}
    assert any("DistributedVirtualPort" in b for b in backings) and any(
        b.endswith("NetworkBackingInfo") for b in backings
    )


def _tree_depth(node: Any) -> int:
    return 1 + max((_tree_depth(c) for c in node.childSnapshotList), default=0)


def _walk(nodes: list[Any]) -> Iterator[Any]:
    for node in nodes:
        yield node
        yield from _walk(node.childSnapshotList)


def test_snapshot_trees_and_ages(vms: list[dict[str, Any]]) -> None:
    depths = Counter(
        max((_tree_depth(t) for t in vm["snapshot"].rootSnapshotList), default=0) if vm.get("snapshot") else 0
        for vm in vms
    )
    assert depths[0] > len(vms) / 2 and depths[1] and depths[2] and max(depths) >= 4
    now = dt.datetime.now(dt.timezone.utc)
    nodes = [n for vm in vms if vm.get("snapshot") for n in _walk(vm["snapshot"].rootSnapshotList)]
    ages = [(now - n.createTime).days for n in nodes]
    assert min(ages) >= 0 and max(ages) >= 180 and len({a // 30 for a in ages}) >= 6  # spread over months
    assert any(len(n.childSnapshotList) >= 2 for n in nodes)  # a branched tree
    for vm in vms:  # never older than the VM
        for n in _walk(vm["snapshot"].rootSnapshotList) if vm.get("snapshot") else []:
            assert n.createTime >= vm["config.createDate"], vm["name"]


def test_tools_states_and_guest_identity(vms: list[dict[str, Any]]) -> None:
    tools = Counter(vm["guest.toolsStatus"] for vm in vms)
    assert {"toolsOk", "toolsOld", "toolsNotRunning", "toolsNotInstalled"} <= set(tools)
    for vm in vms:
        running = vm["runtime.powerState"] == "poweredOn" and vm["guest.toolsStatus"] in (
            "toolsOk",
            "toolsOld",
        )
        if running:
            assert vm.get("guest.ipAddress") and vm.get("guest.hostName", "").endswith(".corp.example")
            macs = {n.macAddress for n in _devices(vm, vim.vm.device.VirtualEthernetCard)}
            assert {n.macAddress for n in vm["guest.net"]} == macs
            assert len(vm["guest.disk"]) == len(_devices(vm, vim.vm.device.VirtualDisk))
        else:
            assert not vm.get("guest.ipAddress") and not vm.get("guest.net"), vm["name"]


def test_allocations_and_custom_attributes(si: Any, vms: list[dict[str, Any]]) -> None:
    cpu = [vm["config.cpuAllocation"] for vm in vms]
    mem = [vm["config.memoryAllocation"] for vm in vms]
    assert any(a.reservation > 0 for a in cpu) and any(a.limit not in (None, -1) for a in cpu)
    assert any(a.reservation > 0 for a in mem) and any(a.limit not in (None, -1) for a in mem)
    assert {"low", "normal", "high", "custom"} <= {a.shares.level for a in cpu + mem}
    fields = {f.key: f.name for f in si.RetrieveContent().customFieldsManager.field}
    assert {"Owner", "CostCenter", "Application", "BackupPolicy", "Rack"} <= set(fields.values())
    values = Counter(fields[v.key] for vm in vms for v in vm["customValue"])
    assert values["Owner"] > len(vms) / 2 and values["Application"] > len(vms) / 2


def test_infrastructure(si: Any) -> None:
    hosts = _retrieve(si, vim.HostSystem, ["name", "summary.hardware", "config.product", "runtime", "vm"])
    assert len(hosts) == 18
    assert sum(h["runtime"].inMaintenanceMode for h in hosts) == 1
    assert sum(h["runtime"].connectionState == "disconnected" for h in hosts) == 1
    assert len({h["summary.hardware"].cpuModel for h in hosts}) >= 4
    assert len({h["config.product"].version for h in hosts}) >= 3
    assert len({h["summary.hardware"].memorySize for h in hosts}) >= 3
    parked = [
        h for h in hosts if h["runtime"].inMaintenanceMode or h["runtime"].connectionState != "connected"
    ]
    assert all(not h["vm"] for h in parked)
    clusters = _retrieve(si, vim.ClusterComputeResource, ["name", "configurationEx", "summary"])
    assert len(clusters) >= 3
    settings = {
        (
            c["configurationEx"].dasConfig.enabled,
            c["configurationEx"].drsConfig.enabled,
            c["configurationEx"].drsConfig.defaultVmBehavior,
        )
        for c in clusters
    }
    assert len(settings) >= 3
    for c in clusters:
        s = c["summary"]
        assert s.totalCpu > 0 and s.numHosts == 4 and s.effectiveMemory > 0
    pools = _retrieve(si, vim.ResourcePool, ["name", "config"])
    named = {p["name"]: p["config"] for p in pools if p["name"] != "Resources"}
    assert named["Production"].cpuAllocation.reservation > 0
    assert named["Batch"].memoryAllocation.limit > 0
    assert named["Databases"].cpuAllocation.shares.level == "custom"


def _orphans(si: Any, datastores: list[dict[str, Any]], vms: list[dict[str, Any]]) -> list[str]:
    referenced = {f.name for vm in vms for f in (vm["layoutEx"].file if vm.get("layoutEx") else [])}
    referenced |= {d.backing.fileName for vm in vms for d in _devices(vm, vim.vm.device.VirtualDisk)}
    found = []
    for ds in datastores:
        spec = vim.host.DatastoreBrowser.SearchSpec(
            matchPattern=["*.vmdk"], query=[vim.host.DatastoreBrowser.VmDiskQuery()]
        )
        task = ds["browser"].SearchDatastoreSubFolders_Task(f"[{ds['name']}]", spec)
        while task.info.state not in ("success", "error"):
            pass
        for folder in task.info.result:
            base = folder.folderPath if folder.folderPath.endswith(("/", "]")) else folder.folderPath + "/"
            for f in folder.file:
                path = base + f.path if base.endswith("/") else f"{base} {f.path}"
                if path not in referenced:
                    found.append(path)
    return found


def test_datastores_fill_levels_and_orphaned_disks(si: Any, vms: list[dict[str, Any]]) -> None:
    datastores = _retrieve(si, vim.Datastore, ["name", "summary", "browser", "info"])
    types = Counter(d["summary"].type for d in datastores)
    assert types["VMFS"] >= 5 and types["NFS"] == 2
    full = {d["name"]: 1 - d["summary"].freeSpace / d["summary"].capacity for d in datastores}
    assert max(full.values()) > 0.9 and min(full.values()) < 0.5
    assert any(
        isinstance(d["info"], vim.host.VmfsDatastoreInfo) and d["info"].vmfs.extent for d in datastores
    )
    orphans = _orphans(si, [d for d in datastores if d["summary"].type in ("VMFS", "NFS")], vms)
    assert len(orphans) >= 3, orphans
    assert all(not re.search(r"-flat\.vmdk$", o) for o in orphans)


def _digest(sim: Simulator) -> list[tuple[Any, ...]]:
    si = _si(sim)
    try:
        rows = _retrieve(si, vim.VirtualMachine, VM_PATHS)
        return sorted(
            (
                vm["name"],
                vm["config.uuid"],
                vm["config.guestId"],
                vm["config.hardware"].memoryMB,
                vm["runtime.powerState"],
                tuple(n.macAddress for n in _devices(vm, vim.vm.device.VirtualEthernetCard)),
                tuple(d.capacityInKB for d in _devices(vm, vim.vm.device.VirtualDisk)),
                tuple((n.name, n.createTime) for n in _walk(vm["snapshot"].rootSnapshotList))
                if vm.get("snapshot")
                else (),
                vm.get("guest.ipAddress"),
            )
            for vm in rows
        )
    finally:
        Disconnect(si)


def test_same_seed_same_estate_other_seed_other_estate() -> None:
    with Simulator(estate="demo", seed=7, vms=40) as a, Simulator(estate="demo", seed=7, vms=40) as b:
        first, second = _digest(a), _digest(b)
    assert first == second and len(first) == 40
    with Simulator(estate="demo", seed=8, vms=40) as c:
        assert _digest(c) != first


def test_demo_estate_options_are_checked() -> None:
    with pytest.raises(SimulatorError, match="own topology; do not pass clusters"):
        Simulator(estate="demo", clusters=3)
    with pytest.raises(SimulatorError, match="mode='vpx'"):
        Simulator("esx", estate="demo")
    with pytest.raises(SimulatorError, match="estate must be one of demo"):
        Simulator(estate="huge")
    with pytest.raises(SimulatorError, match="vms must be an integer >= 1"):
        Simulator(estate="demo", vms=0)


VMX_DEVICE_NAMES = {
    "VirtualVmxnet3": "vmxnet3",
    "VirtualE1000": "e1000",
    "VirtualE1000e": "e1000e",
    "VirtualPCNet32": "vlance",
}


def test_each_vmx_agrees_with_the_api(demo: Simulator, vms: list[dict[str, Any]]) -> None:
    """A sample covering every NIC model and MAC range: the .vmx on the datastore says what
    pyvmomi shows, and esxnb converts it (dumpxml)."""
    sample, seen = [], set()
    for vm in sorted(vms, key=lambda v: v["name"]):
        nics = _devices(vm, vim.vm.device.VirtualEthernetCard)
        marks = {type(n).__name__ for n in nics} | {_mac_range(n.macAddress) for n in nics}
        if not marks <= seen or vm["config.firmware"] == "efi" and "efi" not in seen:
            sample.append(vm)
            seen |= marks | {vm["config.firmware"]}
    with connect_to(demo, f"vpx://{demo.host}:{demo.port}/") as conn:
        for vm in sample:
            dom = conn.domain(vm["name"])
            xml = dom.dumpxml()
            datacenter = vm["config.files.vmPathName"]  # resolved in the VM's own datacenter
            vmx = download(
                conn,
                datacenter,
                datacenter_path=conn.hosts().set_index("name").loc[dom.host_name, "datacenter"],
            )
            values = parse_vmx(vmx).lower
            hw = vm["config.hardware"]
            assert values["displayname"] == vm["name"]
            assert int(values["memsize"]) == hw.memoryMB and int(values["numvcpus"]) == hw.numCPU
            assert values["virtualhw.version"] == vm["config.version"].removeprefix("vmx-")
            assert (values.get("firmware") == "efi") == (vm["config.firmware"] == "efi")
            for i, nic in enumerate(_devices(vm, vim.vm.device.VirtualEthernetCard)):
                assert (
                    values[f"ethernet{i}.virtualdev"]
                    == VMX_DEVICE_NAMES[type(nic).__name__.rsplit(".", 1)[1]]
                )
                mac = values.get(f"ethernet{i}.address") or values.get(f"ethernet{i}.generatedaddress")
                assert mac == nic.macAddress
                outside = _mac_range(nic.macAddress) == "outside"
                assert (values.get(f"ethernet{i}.checkmacaddress", "").upper() == "FALSE") == outside
                assert nic.macAddress in xml
            disks = [d.backing.fileName.split("/")[-1] for d in _devices(vm, vim.vm.device.VirtualDisk)]
            assert sorted(
                v for k, v in values.items() if k.endswith(".filename") and v.endswith(".vmdk")
            ) == sorted(disks)
            assert f"<name>{vm['name']}</name>" in xml
