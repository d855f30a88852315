"""Conversion with a live host's datastores and virtual hardware version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from esxnb import errors
from esxnb.connection import Connection, connect
from esxnb.online_conversion import DatastoreInfo, OnlineDatastores, datastores_of, default_hw_version
from esxnb.simulator import Simulator
from esxnb.vmx import DatastoreResolver, parse_vmx

UUID1 = "4b0beca7-7fd401f3-1d7f-000ae484a6a3"
UUID2 = "4b0beca7-7fd401f3-1d7f-000ae484a6a4"


@pytest.fixture
def offline() -> OnlineDatastores:
    """Two datastores as a real ESX host reports them (mounted at /vmfs/volumes/<uuid>)."""
    return OnlineDatastores(
        [
            DatastoreInfo("datastore1", UUID1, f"/vmfs/volumes/{UUID1}", ("/vmfs/volumes/datastore1",)),
            DatastoreInfo("datastore10", UUID2, f"/vmfs/volumes/{UUID2}", ("/vmfs/volumes/datastore10",)),
        ]
    )


def test_is_a_datastore_resolver(offline: OnlineDatastores) -> None:
    assert isinstance(offline, DatastoreResolver)


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        (f"/vmfs/volumes/{UUID1}/vm/disk.vmdk", "[datastore1] vm/disk.vmdk"),
        (f"/vmfs/volumes/{UUID2}/vm/disk.vmdk", "[datastore10] vm/disk.vmdk"),
        ("/vmfs/volumes/datastore1/vm dir/ä.vmdk", "[datastore1] vm dir/ä.vmdk"),
        ("/vmfs/volumes/datastore10/vm/disk.vmdk", "[datastore10] vm/disk.vmdk"),
        (f"/vmfs/volumes/{UUID1}\\win\\disk.vmdk", "[datastore1] win/disk.vmdk"),
        ("disk.vmdk", "[datastore1] vm/disk.vmdk"),
        ("/usr/lib/vmware/isoimages/linux.iso", "/usr/lib/vmware/isoimages/linux.iso"),
    ],
)
def test_file_names_to_datastore_paths(offline: OnlineDatastores, file_name: str, expected: str) -> None:
    assert offline.to_datastore_path(file_name, vmx_dir="[datastore1] vm", allow_missing=False) == expected


def test_bare_name_without_vmx_directory(offline: OnlineDatastores) -> None:
    assert offline.to_datastore_path("disk.vmdk", vmx_dir=None, allow_missing=False) == "[?] ?/disk.vmdk"


def test_unknown_datastore_is_missing_or_an_error(offline: OnlineDatastores) -> None:
    assert offline.to_datastore_path("/vmfs/volumes/gone/a.iso", vmx_dir=None, allow_missing=True) is None
    with pytest.raises(
        errors.ConversionError, match="datastore 'gone'.*its datastores: datastore1, datastore10"
    ):
        offline.to_datastore_path("/vmfs/volumes/gone/a.vmdk", vmx_dir=None, allow_missing=False)
    with pytest.raises(errors.ConversionError, match="expected format"):
        offline.to_datastore_path("/vmfs/volumes/onlyname", vmx_dir=None, allow_missing=False)
    with pytest.raises(errors.ConversionError, match="cannot handle file name 'rel/a.vmdk'"):
        offline.to_datastore_path("rel/a.vmdk", vmx_dir=None, allow_missing=False)


def test_datastore_paths_to_mount_paths(offline: OnlineDatastores) -> None:
    assert offline.to_vmx_path("[datastore1] vm/disk.vmdk") == f"/vmfs/volumes/{UUID1}/vm/disk.vmdk"
    assert offline.to_vmx_path("[datastore10] a b/ä.vmdk") == f"/vmfs/volumes/{UUID2}/a b/ä.vmdk"
    assert offline.to_vmx_path("/tmp/x.iso") == "/tmp/x.iso"
    with pytest.raises(
        errors.ConversionError, match="datastore 'nope'.*its datastores: datastore1, datastore10"
    ):
        offline.to_vmx_path("[nope] x.vmdk")
    with pytest.raises(errors.ConversionError, match="cannot handle file name 'x.vmdk'"):
        offline.to_vmx_path("x.vmdk")


def test_windows_mount_paths_use_backslashes() -> None:
    resolver = OnlineDatastores([DatastoreInfo("gsx", None, "C:\\Virtual Machines")])
    assert resolver.to_vmx_path("[gsx] vm/disk.vmdk") == "C:\\Virtual Machines\\vm\\disk.vmdk"


@pytest.mark.parametrize(
    ("line", "version", "expected"),
    [
        ("esx", "3.5.0", 4),
        ("embeddedEsx", "4.1.0", 7),
        ("esx", "5.1.0", 9),
        ("esx", "5.5.0", 10),
        ("esx", "6.7.0", 10),
        ("gsx", "2.0.0", 7),
        ("vpx", "2.5.0", 4),
        ("vpx", "4.0.0", 7),
        ("vpx", "5.0.0", 9),
    ],
)
def test_libvirt_hw_version_table(line: str, version: str, expected: int) -> None:
    assert default_hw_version(line, version) == expected


# -- against the simulator --------------------------------------------------------------------------

VMX = """config.version = "8"
virtualHW.version = "13"
displayName = "online"
memsize = "1024"
numvcpus = "2"
scsi0.present = "true"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "true"
scsi0:0.deviceType = "scsi-hardDisk"
scsi0:0.fileName = "/vmfs/volumes/LocalDS_0/online/online.vmdk"
scsi0:1.present = "true"
scsi0:1.deviceType = "scsi-hardDisk"
scsi0:1.fileName = "second.vmdk"
ide0:0.present = "true"
ide0:0.deviceType = "cdrom-image"
ide0:0.fileName = "/vmfs/volumes/GoneDS/boot.iso"
"""


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=1, hosts=1, standalone_hosts=0, datastores=2) as simulator:
        yield simulator


@pytest.mark.simulator
def test_host_datastores(conn: Connection) -> None:
    found = conn.datastore_resolver().datastores
    assert [d.name for d in found] == ["LocalDS_0", "LocalDS_1"]
    for datastore in found:
        assert datastore.mount_path == f"/vmfs/volumes/{datastore.name}"
        assert any(alias.startswith("/") and datastore.name in alias for alias in datastore.aliases)


@pytest.mark.simulator
def test_simulators_own_mount_directory_is_understood(conn: Connection) -> None:
    resolver = conn.datastore_resolver()
    local = resolver.datastores[0]
    real_dir = next(alias for alias in local.aliases if not alias.startswith("/vmfs/"))
    assert (
        resolver.to_datastore_path(f"{real_dir}/a/b.vmdk", vmx_dir=None, allow_missing=False)
        == "[LocalDS_0] a/b.vmdk"
    )


@pytest.mark.simulator
def test_virtual_hw_version_comes_from_the_server(conn: Connection) -> None:
    assert conn.virtual_hw_version() == 13  # the simulator's environment browser offers vmx-13
    assert conn.virtual_hw_version() == 13


@pytest.mark.simulator
def test_domxml_from_native_with_the_hosts_datastores(conn: Connection) -> None:
    xml = conn.domxml_from_native(VMX, vmx_path="[LocalDS_1] online/online.vmx")
    root = etree.fromstring(xml.encode())
    sources = [d.find("source") for d in root.findall("devices/disk")]
    files = [s.get("file") if s is not None else None for s in sources]
    assert "[LocalDS_0] online/online.vmdk" in files
    assert "[LocalDS_1] online/second.vmdk" in files
    assert None in files  # the CD-ROM on a datastore the host does not have: left empty
    namespace = {"vmware": "http://libvirt.org/schemas/domain/vmware/1.0"}
    assert root.findtext("vmware:datacenterpath", namespaces=namespace) == conn.datacenter_path


@pytest.mark.simulator
def test_domxml_to_native_with_the_servers_hw_version(conn: Connection) -> None:
    xml = conn.domxml_from_native(VMX, vmx_path="[LocalDS_1] online/online.vmx")
    vmx = parse_vmx(conn.domxml_to_native(xml))
    assert vmx.get("virtualHW.version") == "13"
    assert vmx.get("scsi0:0.fileName") == "/vmfs/volumes/LocalDS_0/online/online.vmdk"
    assert vmx.get("scsi0:1.fileName") == "/vmfs/volumes/LocalDS_1/online/second.vmdk"
    assert parse_vmx(conn.domxml_to_native(xml, virtual_hw_version=7)).get("virtualHW.version") == "7"
    with pytest.raises(errors.ConversionError, match="datastore 'Elsewhere'"):
        conn.domxml_to_native(xml.replace("[LocalDS_0]", "[Elsewhere]"))


@pytest.mark.simulator
def test_every_datastore_of_a_vcenter_without_a_host(sim: Simulator) -> None:
    if sim.mode != "vpx":
        pytest.skip("only vpx:// URIs can name no host")
    with connect(
        f"vpx://{sim.host}:{sim.port}/", auth=(sim.username, sim.password), ca_file=sim.ca_file
    ) as root:
        assert [d.name for d in datastores_of(root)] == ["LocalDS_0", "LocalDS_1"]
        assert root.virtual_hw_version() == default_hw_version("vpx", root.session.about.version)
