"""define / dumpxml / undefine against the simulator, in both modes."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterator
from xml.sax.saxutils import escape

import pytest
from lxml import etree

from esxnb import errors
from esxnb._collect import retrieve
from esxnb.connection import Connection, connect
from esxnb.datastore_files import delete, download, escape_datastore_item, exists, upload
from esxnb.simulator import Simulator
from helpers import connect_to

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=1, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _reset(sim: Simulator) -> Iterator[None]:
    sim.reset()
    yield
    sim.reset()


def domain_xml(
    name: str,
    *,
    disk: str | None = "[LocalDS_0] {dir}/disk.vmdk",
    directory: str = "esxnb-define",
    uuid: str | None = None,
    memory_kib: int = 1048576,
    vcpus: int = 2,
    cdrom_first: bool = False,
) -> str:
    uuid = uuid or str(uuid_module.uuid4())
    devices = []
    if cdrom_first:
        devices.append(
            "<disk type='file' device='cdrom'><source file='[LocalDS_0] isos/boot.iso'/>"
            "<target dev='hdc' bus='ide'/></disk>"
        )
    if disk is not None:
        devices.append(
            f"<disk type='file' device='disk'><source file='{escape(disk.format(dir=directory), {chr(39): '&apos;'})}'/>"
            "<target dev='sda' bus='scsi'/></disk><controller type='scsi' index='0' model='lsilogic'/>"
        )
    return (
        f"<domain type='vmware'><name>{escape(name)}</name><uuid>{uuid}</uuid>"
        f"<memory unit='KiB'>{memory_kib}</memory><vcpu>{vcpus}</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os>"
        f"<devices>{''.join(devices)}</devices></domain>"
    )


def cleanup(conn: Connection, name: str, vmx_path: str | None = None) -> None:
    """Unregister ``name`` if defined and delete its VMX (tests share one simulator)."""
    try:
        domain = conn.domain(name)
    except errors.NotFoundError:
        pass
    else:
        vmx_path = vmx_path or domain.vmx_path
        if domain.state != "shut off":
            domain.destroy()
        domain.undefine()
    if vmx_path and exists(conn, vmx_path):
        delete(conn, vmx_path)


def test_define_registers_on_the_host(conn: Connection) -> None:
    uuid = str(uuid_module.uuid4())
    seen: list[tuple[int, str]] = []
    domain = conn.define(domain_xml("esxnb-plain", uuid=uuid), progress=lambda p, m: seen.append((p, m)))
    try:
        assert (domain.name, domain.uuid) == ("esxnb-plain", uuid)
        assert domain.state == "shut off"
        assert domain.vmx_path == "[LocalDS_0] esxnb-define/esxnb-plain.vmx"
        assert domain.host_name == conn.location.host_name
        props = retrieve(conn.content, [domain.vm], ["parent", "resourcePool", "config.hardware.numCPU"])[
            domain.vm
        ]
        datacenter = retrieve(conn.content, [conn.datacenter], ["vmFolder"])[conn.datacenter]
        assert props["parent"] == datacenter["vmFolder"]
        assert props["resourcePool"] == conn.location.resource_pool
        assert props["config.hardware.numCPU"] == 2
        assert seen[0] == (0, "uploading [LocalDS_0] esxnb-define/esxnb-plain.vmx")
        assert seen[-1] == (100, "defined esxnb-plain")
        assert conn.domain(uuid) == domain
        vmx = download(conn, domain.vmx_path).decode()
        assert 'virtualHW.version = "13"' in vmx
        assert 'scsi0:0.fileName = "/vmfs/volumes/LocalDS_0/esxnb-define/disk.vmdk"' in vmx
        domain.start()
        assert domain.state == "running"
    finally:
        cleanup(conn, "esxnb-plain")


def test_dumpxml_round_trip(conn: Connection) -> None:
    uuid = str(uuid_module.uuid4())
    domain = conn.define(domain_xml("esxnb-dump", uuid=uuid, memory_kib=2097152, vcpus=4))
    try:
        root = etree.fromstring(domain.dumpxml().encode())
        assert root.findtext("name") == "esxnb-dump"
        assert root.findtext("uuid") == uuid
        assert root.findtext("memory") == "2097152"
        assert root.findtext("vcpu") == "4"
        assert root.find("devices/disk/source").get("file") == "[LocalDS_0] esxnb-define/disk.vmdk"
        namespace = {"vmware": "http://libvirt.org/schemas/domain/vmware/1.0"}
        assert root.findtext("vmware:datacenterpath", namespaces=namespace) == conn.datacenter_path
    finally:
        cleanup(conn, "esxnb-dump")


NAMES = [
    "with space",
    "ümlaut ä 標準語",
    "quote \" and ' apostrophe",
    "slash/in name",
    "percent % and back\\slash",
]


@pytest.mark.parametrize("name", NAMES)
def test_names_survive_define_lookup_and_dumpxml(conn: Connection, name: str) -> None:
    directory = "esxnb dir ä"
    domain = conn.define(domain_xml(name, directory=directory))
    try:
        assert domain.name == name
        assert domain.vmx_path == f"[LocalDS_0] {directory}/{escape_datastore_item(name)}.vmx"
        raw = retrieve(conn.content, [domain.vm], ["name"])[domain.vm]["name"]
        assert "/" not in raw and raw.replace("%2f", "/").replace("%5c", "\\").replace("%25", "%") == name
        assert conn.domain(name) == domain
        root = etree.fromstring(domain.dumpxml().encode())
        assert root.findtext("name") == name
        assert root.find("devices/disk/source").get("file") == f"[LocalDS_0] {directory}/disk.vmdk"
    finally:
        cleanup(conn, name)


def test_existing_name_or_uuid_is_refused(conn: Connection) -> None:
    uuid = str(uuid_module.uuid4())
    conn.define(domain_xml("esxnb-exists", uuid=uuid))
    try:
        with pytest.raises(errors.DomainExistsError, match="a domain with that name exists already"):
            conn.define(domain_xml("esxnb-exists", directory="elsewhere"))
        with pytest.raises(errors.DomainExistsError, match=f"domain 'esxnb-exists' already has uuid {uuid}"):
            conn.define(domain_xml("esxnb-other", uuid=uuid, directory="elsewhere"))
        assert not exists(conn, "[LocalDS_0] elsewhere/esxnb-other.vmx")
    finally:
        cleanup(conn, "esxnb-exists")


def test_existing_vmx_file_is_not_overwritten(conn: Connection) -> None:
    path = "[LocalDS_0] esxnb-taken/esxnb-taken.vmx"
    upload(conn, path, b'displayName = "someone else"\n')
    try:
        with pytest.raises(errors.DomainExistsError, match=r"esxnb-taken\.vmx exists already"):
            conn.define(domain_xml("esxnb-taken", directory="esxnb-taken"))
        assert download(conn, path) == b'displayName = "someone else"\n'
        with pytest.raises(errors.NotFoundError):
            conn.domain("esxnb-taken")
    finally:
        delete(conn, path)


def test_failed_registration_removes_the_upload(sim: Simulator, conn: Connection) -> None:
    sim.inject_fault(
        "RegisterVM_Task", "InvalidState", "registration refused by the host", task=True, count=1
    )
    with pytest.raises(errors.InvalidStateError, match="registration refused by the host") as info:
        conn.define(domain_xml("esxnb-failed", directory="esxnb-failed-dir"))
    assert "the uploaded [LocalDS_0] esxnb-failed-dir was removed again" in str(info.value)
    assert not exists(conn, "[LocalDS_0] esxnb-failed-dir/esxnb-failed.vmx")
    assert not exists(conn, "[LocalDS_0] esxnb-failed-dir")
    with pytest.raises(errors.NotFoundError):
        conn.domain("esxnb-failed")


def test_failed_registration_keeps_other_files_of_the_directory(sim: Simulator, conn: Connection) -> None:
    upload(conn, "[LocalDS_0] esxnb-shared/disk.vmdk", b"not really a disk")
    try:
        sim.inject_fault("RegisterVM_Task", "NotSupported", "cannot register", task=True, count=1)
        with pytest.raises(
            errors.EsxnbError, match=r"the uploaded \[LocalDS_0\] esxnb-shared/esxnb-shared\.vmx was removed"
        ):
            conn.define(domain_xml("esxnb-shared", directory="esxnb-shared"))
        assert not exists(conn, "[LocalDS_0] esxnb-shared/esxnb-shared.vmx")
        assert exists(conn, "[LocalDS_0] esxnb-shared/disk.vmdk")
    finally:
        delete(conn, "[LocalDS_0] esxnb-shared")


def test_first_file_based_hard_disk_decides_not_the_cdrom(conn: Connection) -> None:
    domain = conn.define(domain_xml("esxnb-cdrom", directory="esxnb-vmdir", cdrom_first=True))
    try:
        assert domain.vmx_path == "[LocalDS_0] esxnb-vmdir/esxnb-cdrom.vmx"
    finally:
        cleanup(conn, "esxnb-cdrom")


def test_diskless_domain_needs_a_datastore_hint(conn: Connection) -> None:
    with pytest.raises(errors.ValidationError, match="no file-based hard disk.*datastore_hint"):
        conn.define(domain_xml("esxnb-diskless", disk=None))
    domain = conn.define(domain_xml("esxnb diskless/ä", disk=None), datastore_hint="LocalDS_0")
    try:
        escaped = escape_datastore_item("esxnb diskless/ä")
        assert domain.vmx_path == f"[LocalDS_0] {escaped}/{escaped}.vmx"
        assert domain.name == "esxnb diskless/ä"
    finally:
        cleanup(conn, "esxnb diskless/ä")
    with pytest.raises(errors.NotFoundError, match="datastore 'NoSuchDS'.*its datastores: LocalDS_0"):
        conn.define(domain_xml("esxnb-diskless", disk=None), datastore_hint="NoSuchDS")


@pytest.mark.parametrize(
    ("disk", "error", "message"),
    [
        (
            "[LocalDS_0] esxnb-define/disk.img",
            errors.ConversionError,
            "unsupported suffix, expecting '.vmdk'",
        ),
        ("/var/lib/disk.vmdk", errors.ValidationError, "is not a datastore path"),
        (
            "[NoSuchDS] dir/disk.vmdk",
            errors.ConversionError,
            "datastore 'NoSuchDS'.*does not exist on the host",
        ),
    ],
)
def test_unusable_first_disk_is_refused(conn: Connection, disk: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        conn.define(domain_xml("esxnb-bad-disk", disk=disk))
    with pytest.raises(errors.NotFoundError):
        conn.domain("esxnb-bad-disk")


def test_malformed_xml_is_refused_before_anything_changes(conn: Connection) -> None:
    with pytest.raises(errors.XMLSyntaxError):
        conn.define("<domain type='vmware'><name>x</name>")
    with pytest.raises(errors.ValidationError, match="line break"):
        conn.define(domain_xml("two\nlines"))


def test_undefine_keeps_the_files(conn: Connection) -> None:
    domain = conn.define(domain_xml("esxnb-undefine"))
    path = domain.vmx_path
    try:
        domain.start()
        domain.suspend()
        domain.undefine()  # a suspended domain can be undefined
        with pytest.raises(errors.NotFoundError):
            conn.domain("esxnb-undefine")
        with pytest.raises(errors.NotFoundError, match="no longer exists"):
            domain.state  # noqa: B018
        assert exists(conn, path)
        with pytest.raises(errors.DomainExistsError, match="exists already"):
            conn.define(domain_xml("esxnb-undefine"))
    finally:
        cleanup(conn, "esxnb-undefine", path)


def test_define_needs_a_host(sim: Simulator) -> None:
    if sim.mode != "vpx":
        pytest.skip("an esx:// connection always has its host")
    with connect(
        f"vpx://{sim.host}:{sim.port}/DC0", auth=(sim.username, sim.password), ca_file=sim.ca_file
    ) as dc:
        with pytest.raises(errors.ValidationError, match="define needs one host"):
            dc.define(domain_xml("esxnb-nohost"))


def test_dumpxml_through_a_datacenter_wide_connection(sim: Simulator, conn: Connection) -> None:
    if sim.mode != "vpx":
        pytest.skip("only vpx:// URIs can be wider than one host")
    conn.define(domain_xml("esxnb-wide"))
    try:
        for path in ("/DC0", "/"):
            uri = f"vpx://{sim.host}:{sim.port}{path}"
            with connect_to(sim, uri) as wide:
                root = etree.fromstring(wide.domain("esxnb-wide").dumpxml().encode())
                assert root.findtext("name") == "esxnb-wide"
                assert root.find("devices/disk/source").get("file") == "[LocalDS_0] esxnb-define/disk.vmdk"
    finally:
        cleanup(conn, "esxnb-wide")


def test_dumpxml_of_the_servers_own_domains(sim: Simulator, conn: Connection) -> None:
    info = sim.vms()[0]
    root = etree.fromstring(conn.domain(info["name"]).dumpxml().encode())
    assert root.findtext("name") == info["name"]
    assert root.findtext("uuid") == info["uuid"]
    assert int(root.findtext("memory")) == info["memory_mb"] * 1024
    assert root.findtext("vcpu") == str(info["num_cpu"])
