"""Storage volumes (virtual disks on datastores) against the simulator in both modes: what
esxnb creates, clones, wipes and deletes shows up in volumes() and in raw pyvmomi's datastore
browse; disks VMs use and existing names are never touched."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from lxml import etree
from pyVmomi import vim

from esxnb import errors
from esxnb.connection import Connection
from esxnb.datastore import download, upload
from esxnb.simulator import Simulator
from esxnb.datastore import StoragePool, Volume
from esxnb.datastore import parse_volume_xml
from esxnb.tasks import wait_for_task

pytestmark = pytest.mark.simulator

MiB = 1024 * 1024
Browser = vim.host.DatastoreBrowser


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=1, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


@pytest.fixture
def pool(conn: Connection) -> StoragePool:
    return conn.pool("LocalDS_0")


@pytest.fixture
def scratch(pool: StoragePool, request: pytest.FixtureRequest) -> Iterator[str]:
    """A directory name of this test's own; its volumes are deleted afterwards."""
    folder = "t-" + request.node.name.split("[")[0][5:30].replace("_", "-")
    yield folder
    for name in pool.volumes()["name"]:
        if name.startswith(folder + "/"):
            pool.volume(name).delete()


def _raw_browse(conn: Connection) -> dict[str, object]:
    """``{"dir/file": FileInfo}`` for every file on LocalDS_0, through raw pyvmomi."""
    ds = next(d for d in conn.host.datastore if d.name == "LocalDS_0")
    spec = Browser.SearchSpec(
        matchPattern=["*"],
        details=Browser.FileInfo.Details(fileType=True, fileSize=True),
        query=[
            Browser.VmDiskQuery(details=Browser.VmDiskQuery.Details(capacityKb=True, thin=True)),
            Browser.Query(),
        ],
    )
    results = wait_for_task(conn, ds.browser.SearchDatastoreSubFolders_Task("[LocalDS_0]", spec))
    found = {}
    for result in results:
        folder = result.folderPath.split("]", 1)[1].strip().strip("/")
        for file in result.file or []:
            found[f"{folder}/{file.path}" if folder else file.path] = file
    return found


def _raw_uuid(conn: Connection, path: str) -> str:
    text = conn.content.virtualDiskManager.QueryVirtualDiskUuid(path, conn.datacenter)
    return str(uuid.UUID(hex=text.replace(" ", "").replace("-", "")))


def test_created_volumes_show_up_with_what_was_asked(
    conn: Connection, pool: StoragePool, scratch: str
) -> None:
    thin = pool.create_volume(f"{scratch}/thin.vmdk", 10)
    thick = pool.create_volume(f"{scratch}/thick.vmdk", 4, allocation="thick", adapter="busLogic")
    assert isinstance(thin, Volume) and thin.path == f"[LocalDS_0] {scratch}/thin.vmdk"
    table = pool.volumes().set_index("name")
    raw = _raw_browse(conn)
    for volume, capacity, fmt, adapter in ((thin, 10, "thin", "lsiLogic"), (thick, 4, "thick", "busLogic")):
        row = table.loc[volume.name]
        assert row["capacity"] == capacity * MiB == raw[volume.name].capacityKb * 1024
        assert row["format"] == fmt and bool(raw[volume.name].thin) == (fmt == "thin")
        assert row["adapter"] == adapter and row["type"] == "vmdk"
        assert row["path"] == volume.path and pd_isna(row["owner"])
        assert row["key"] == _raw_uuid(conn, volume.path)
        assert row["allocation"] == raw[volume.name].fileSize
        assert f"{volume.name[:-5]}-flat.vmdk" in raw
    assert table.loc[thick.name, "allocation"] >= 4 * MiB > table.loc[thin.name, "allocation"]


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_volume_xml_parses_and_carries_what_pyvmomi_reads(
    conn: Connection, pool: StoragePool, scratch: str
) -> None:
    volume = pool.create_volume(f"{scratch}/x.vmdk", 3)
    root = etree.fromstring(volume.xml())
    raw = _raw_browse(conn)[volume.name]
    assert root.tag == "volume" and root.get("type") == "file"
    assert root.findtext("name") == volume.name
    assert root.findtext("key") == _raw_uuid(conn, volume.path)
    assert int(root.findtext("capacity")) == raw.capacityKb * 1024 == 3 * MiB
    assert int(root.findtext("allocation")) == raw.fileSize
    assert root.findtext("target/path") == volume.path
    assert root.find("target/format").get("type") == "vmdk"
    info = volume.info()
    assert info["capacity"] == 3 * MiB and info["key"] == root.findtext("key") and info["type"] == "file"


def test_clone_wipe_delete_show_in_volumes_and_raw_browse(
    conn: Connection, pool: StoragePool, scratch: str
) -> None:
    source = pool.create_volume(f"{scratch}/src.vmdk", 2, allocation="thick")
    clone = source.clone(f"{scratch}/copy.vmdk")
    names = set(pool.volumes()["name"])
    assert {source.name, clone.name} <= names and {source.name, clone.name} <= set(_raw_browse(conn))
    assert clone.info()["key"] != source.info()["key"]
    assert clone.info()["capacity"] == 2 * MiB and clone.info()["provisioning"] == "thick"
    thin_copy = source.clone(f"{scratch}/thin-copy.vmdk", allocation="thin")
    assert thin_copy.info()["provisioning"] == "thin"

    flat = f"[LocalDS_0] {scratch}/copy-flat.vmdk"
    upload(
        conn, flat, b"\x5a" * 4096, overwrite=True, datacenter_path=conn.datacenter_path or "ha-datacenter"
    )
    clone.wipe()
    data = download(conn, flat, datacenter_path=conn.datacenter_path or "ha-datacenter")
    assert len(data) == 4096 and data == bytes(4096)

    clone.delete()
    assert clone.name not in set(pool.volumes()["name"])
    raw = _raw_browse(conn)
    assert clone.name not in raw and f"{scratch}/copy-flat.vmdk" not in raw and source.name in raw
    with pytest.raises(errors.NotFoundError):
        pool.volume(clone.name)


def test_volume_a_vm_uses_is_never_deleted_or_wiped(conn: Connection, pool: StoragePool) -> None:
    vm = conn.host.vm[0]
    disk = next(d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk))
    name = disk.backing.fileName.split("] ", 1)[1]
    row = pool.volumes().set_index("name").loc[name]
    assert row["owner"] == vm.name and row["capacity"] == disk.capacityInKB * 1024
    volume = pool.volume(name)
    before = _raw_browse(conn)[name].fileSize
    for action in (volume.delete, volume.wipe):
        with pytest.raises(errors.InvalidStateError, match=f"disk of the VM {vm.name}"):
            action()
    assert _raw_browse(conn)[name].fileSize == before


def test_existing_names_are_never_overwritten(conn: Connection, pool: StoragePool, scratch: str) -> None:
    first = pool.create_volume(f"{scratch}/a.vmdk", 1)
    other = pool.create_volume(f"{scratch}/b.vmdk", 2)
    key = first.info()["key"]
    with pytest.raises(errors.ExistsError, match="exists already.*not overwriting"):
        pool.create_volume(f"{scratch}/a.vmdk", 5)
    with pytest.raises(errors.ExistsError, match="exists already"):
        other.clone(f"{scratch}/a.vmdk")
    assert first.info()["key"] == key and first.info()["capacity"] == MiB


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("flat.vmdk", {}, "expected format '<directory>/<file>.vmdk'"),
        ("d/disk.img", {}, "unsupported suffix: expecting '.vmdk'"),
        ("d/ba*d.vmdk", {}, "may only use letters"),
        (
            "d/a.vmdk",
            {"allocation": "sparse"},
            "allocation 'sparse' is not one of: thin, thick, eagerzeroedthick",
        ),
        ("d/a.vmdk", {"adapter": "scsi"}, "adapter 'scsi' is not one of: lsiLogic, busLogic, ide"),
    ],
)
def test_bad_volume_requests_name_the_problem(
    pool: StoragePool, name: str, kwargs: dict, message: str
) -> None:
    with pytest.raises(errors.ValidationError, match=message.replace("*", r"\*").replace("(", r"\(")):
        pool.create_volume(name, 1, **kwargs)


def test_zero_capacity_is_refused(pool: StoragePool) -> None:
    with pytest.raises(errors.ValidationError, match="capacity must be a positive"):
        pool.create_volume("d/a.vmdk", 0)


def test_create_volume_xml_as_libvirt_reads_it(conn: Connection, pool: StoragePool, scratch: str) -> None:
    thin = pool.create_volume_xml(
        f"<volume><name>{scratch}/x.vmdk</name><capacity unit='M'>5</capacity><allocation>0</allocation></volume>"
    )
    thick = pool.create_volume_xml(
        f"<volume type='file'><name>{scratch}/y.vmdk</name><capacity unit='KiB'>2048</capacity>"
        "<target><format type='vmdk'/></target></volume>"
    )
    raw = _raw_browse(conn)
    assert raw[thin.name].capacityKb == 5 * 1024 and raw[thin.name].thin
    assert raw[thick.name].capacityKb == 2048 and not raw[thick.name].thin


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            "<volume><name>d/a.vmdk</name><capacity>1024</capacity><allocation>5</allocation></volume>",
            "allocation> must be 0 \\(thin\\) or equal to <capacity>",
        ),
        (
            "<volume><name>d/a.vmdk</name><capacity>1024</capacity><target><format type='raw'/></target></volume>",
            "creation of raw volumes is not supported",
        ),
        ("<volume type='block'><name>d/a.vmdk</name><capacity>1024</capacity></volume>", "non-file volumes"),
        ("<volume><capacity>1024</capacity></volume>", "needs a <name>"),
        (
            "<volume><name>d/a.vmdk</name><capacity unit='parsecs'>1</capacity></volume>",
            "unknown unit 'parsecs'",
        ),
        ("<pool><name>x</name></pool>", "must have a <volume> root element"),
    ],
)
def test_bad_volume_xml_names_the_problem(xml: str, message: str) -> None:
    with pytest.raises(errors.EsxnbError, match=message):
        parse_volume_xml(xml)


def test_wipe_reports_progress_and_can_be_cancelled(
    sim: Simulator, conn: Connection, pool: StoragePool, scratch: str
) -> None:
    volume = pool.create_volume(f"{scratch}/slow.vmdk", 1)
    flat = f"[LocalDS_0] {scratch}/slow-flat.vmdk"
    dc_path = conn.datacenter_path or "ha-datacenter"
    sim.set_task_behaviour("ZeroFillVirtualDisk_Task", 1.0, steps=4)
    try:
        seen: list[int] = []
        volume.wipe(progress=lambda percent, message: seen.append(percent))
        assert any(0 < p < 100 for p in seen) and seen[-1] == 100
        upload(conn, flat, b"\x01" * 512, overwrite=True, datacenter_path=dc_path)
        sim.set_task_behaviour("ZeroFillVirtualDisk_Task", 30.0, steps=30)
        cancel = threading.Event()
        threading.Timer(0.5, cancel.set).start()
        with pytest.raises(errors.TaskCancelledError):
            volume.wipe(cancel_event=cancel)
        assert download(conn, flat, datacenter_path=dc_path) == b"\x01" * 512  # not zeroed
    finally:
        sim.reset()


def test_volume_lookup_by_datastore_path_and_unknown_names(pool: StoragePool, scratch: str) -> None:
    volume = pool.create_volume(f"{scratch}/p.vmdk", 1)
    assert pool.volume(volume.path).name == volume.name
    with pytest.raises(errors.NotFoundError, match="no storage volume 'nope/x.vmdk' in pool 'LocalDS_0'"):
        pool.volume("nope/x.vmdk")
    with pytest.raises(errors.NotFoundError, match="not in storage pool"):
        pool.volume("[other] a/b.vmdk")


def test_created_adapter_is_what_domxml_to_native_autodetects(
    conn: Connection, pool: StoragePool, scratch: str
) -> None:
    volume = pool.create_volume(f"{scratch}/bus.vmdk", 1, adapter="busLogic")
    xml = (
        "<domain type='vmware'><name>auto</name><memory>1048576</memory><os><type>hvm</type></os><devices>"
        f"<disk type='file' device='disk'><source file='{volume.path}'/><target dev='sda' bus='scsi'/></disk>"
        "<controller type='scsi' index='0' model='auto'/></devices></domain>"
    )
    assert 'scsi0.virtualDev = "buslogic"' in conn.domxml_to_native(xml)
