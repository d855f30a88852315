"""Storage pools (datastores) against the simulator in both modes, compared with raw pyvmomi;
the <pool> writer against libvirt's format for each datastore kind."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import pytest
from lxml import etree
from pyVmomi import vim

from esxnb import errors
from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.datastore import PoolInfo, StoragePool
from esxnb.datastore._pools import _pool_type, format_pool_xml
from helpers import connect_to

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=1, hosts=1, standalone_hosts=0, datastores=2) as simulator:
        yield simulator


def _raw_datastores(conn: Connection) -> dict[str, vim.Datastore]:
    return {ds.name: ds for ds in conn.host.datastore}


def _md5_uuid(text: str) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(text.encode()).digest()))


def test_pools_table_carries_what_pyvmomi_reads(conn: Connection) -> None:
    frame = conn.pools()
    raw = _raw_datastores(conn)
    assert sorted(frame["name"]) == sorted(raw) and len(raw) == 2
    for row in frame.itertuples():
        ds = raw[row.name]
        mount = next(m for m in ds.host if m.key == conn.host)
        assert row.uuid == _md5_uuid(mount.mountInfo.path)
        assert row.capacity == ds.summary.capacity
        assert row.available == ds.summary.freeSpace
        assert row.allocation == ds.summary.capacity - ds.summary.freeSpace
        assert row.type == ds.summary.type
        assert row.pool_type == "dir" and isinstance(ds.info, vim.host.LocalDatastoreInfo)
        assert row.state == "running" and row.accessible
        assert row.url == ds.summary.url


def test_pool_xml_parses_and_matches_pyvmomi(conn: Connection) -> None:
    pool = conn.pool("LocalDS_0")
    ds = _raw_datastores(conn)["LocalDS_0"]
    root = etree.fromstring(pool.xml())
    assert root.tag == "pool" and root.get("type") == "dir"
    assert root.findtext("name") == "LocalDS_0"
    mount = next(m for m in ds.host if m.key == conn.host)
    assert root.findtext("uuid") == _md5_uuid(mount.mountInfo.path)
    assert root.findtext("target/path") == mount.mountInfo.path
    assert int(root.findtext("capacity")) == ds.summary.capacity
    assert root.find("capacity").get("unit") == "bytes"
    assert int(root.findtext("available")) == ds.summary.freeSpace
    assert int(root.findtext("allocation")) == ds.summary.capacity - ds.summary.freeSpace
    assert root.find("source") is not None and len(root.find("source")) == 0


def test_pool_info_and_refresh(conn: Connection) -> None:
    pool = conn.pool("LocalDS_1")
    assert isinstance(pool, StoragePool)
    pool.refresh()
    info = pool.info()
    ds = _raw_datastores(conn)["LocalDS_1"]
    assert info["name"] == "LocalDS_1" and info["state"] == "running"
    assert info["persistent"] is True and info["autostart"] is True
    assert info["capacity"] == ds.summary.capacity
    assert info["uuid"] == conn.pools().set_index("name").loc["LocalDS_1", "uuid"]


def test_unknown_pool_names_the_ones_there_are(conn: Connection) -> None:
    with pytest.raises(errors.NotFoundError, match="'nope'.*LocalDS_0, LocalDS_1") as caught:
        conn.pool("nope")
    assert caught.value.suggestions == ["LocalDS_0", "LocalDS_1"]


def test_vpx_datacenter_connection_lists_the_datacenter_datastores(vpx_sim: Simulator) -> None:
    with connect_to(vpx_sim, vpx_sim.uri.split("/DC0")[0] + "/DC0") as conn:
        assert conn.host is None
        assert list(conn.pools()["name"]) == ["LocalDS_0"]
        root = etree.fromstring(conn.pool("LocalDS_0").xml())
        assert root.findtext("uuid")  # the first host's mount names it


# -- the <pool> writer for every datastore kind, against libvirt's format ---------------------


def _info(pool_type: str | None, fmt: str | None, **extra: object) -> PoolInfo:
    values = dict(
        name="ds1",
        uuid="0cc175b9-c0f1-b6a8-31c3-99e269772661",
        type="NFS",
        pool_type=pool_type,
        source_format=fmt,
        state="running",
        capacity=1000,
        allocation=400,
        available=600,
        accessible=True,
        nfs_host=None,
        nfs_path=None,
        url="ds:///vmfs/volumes/abc/",
        target_path="/vmfs/volumes/abc",
    )
    values.update(extra)
    return PoolInfo(**values)  # type: ignore[arg-type]


_HEAD = (
    "  <name>ds1</name>\n"
    "  <uuid>0cc175b9-c0f1-b6a8-31c3-99e269772661</uuid>\n"
    "  <capacity unit='bytes'>1000</capacity>\n"
    "  <allocation unit='bytes'>400</allocation>\n"
    "  <available unit='bytes'>600</available>\n"
)
_TARGET = (
    "  <target>\n"
    "    <path>/vmfs/volumes/abc</path>\n"
    "    <permissions>\n"
    "      <mode>00</mode>\n"
    "      <owner>0</owner>\n"
    "      <group>0</group>\n"
    "    </permissions>\n"
    "  </target>\n"
)


def test_nfs_pool_xml_is_libvirts() -> None:
    info = _info("netfs", "nfs", nfs_host="nas.example.com", nfs_path="/export/vms")
    assert format_pool_xml(info) == (
        "<pool type='netfs'>\n" + _HEAD + "  <source>\n    <host name='nas.example.com'/>\n"
        "    <dir path='/export/vms'/>\n    <format type='nfs'/>\n  </source>\n" + _TARGET + "</pool>\n"
    )


def test_vmfs_pool_xml_is_libvirts() -> None:
    assert format_pool_xml(_info("fs", "vmfs")) == (
        "<pool type='fs'>\n"
        + _HEAD
        + "  <source>\n    <format type='vmfs'/>\n  </source>\n"
        + _TARGET
        + "</pool>\n"
    )


def test_pool_xml_escapes_names() -> None:
    root = etree.fromstring(format_pool_xml(_info("dir", None, name="a<b>&'c\"")))
    assert root.findtext("name") == "a<b>&'c\""


def test_datastore_kinds_map_to_libvirt_pool_types() -> None:
    nfs = vim.host.NasDatastoreInfo(
        nas=vim.host.NasVolume(remoteHost="nas1", remotePath="/export", type="NFS")
    )
    cifs = vim.host.NasDatastoreInfo(
        nas=vim.host.NasVolume(remoteHost="smb1", remotePath="/share", type="CIFS")
    )
    nfs41 = vim.host.NasDatastoreInfo(
        nas=vim.host.NasVolume(remoteHostNames=["nas2", "nas3"], remotePath="/x", type="NFS41")
    )
    assert _pool_type(nfs) == ("netfs", "nfs", "nas1", "/export")
    assert _pool_type(cifs) == ("netfs", "cifs", "smb1", "/share")
    assert _pool_type(nfs41) == ("netfs", "nfs", "nas2", "/x")
    assert _pool_type(vim.host.VmfsDatastoreInfo()) == ("fs", "vmfs", None, None)
    assert _pool_type(vim.host.LocalDatastoreInfo()) == ("dir", None, None, None)
    assert _pool_type(vim.host.VsanDatastoreInfo())[0] is None


def test_pool_xml_of_a_kind_libvirt_lacks_is_refused() -> None:
    with pytest.raises(errors.ValidationError, match="vsan.*no storage pool type"):
        format_pool_xml(_info(None, None, type="vsan"))
