"""Domain XML -> VMX: the project's own fixtures and focused checks of each rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import esxnb
from esxnb.errors import ConversionError, EsxnbError, RestrictionError, ValidationError, XMLSyntaxError
from esxnb.vmx import domxml_to_native, parse_vmx
from esxnb.vmx._safexml import MAX_XML_SIZE

FIXTURES = Path(__file__).parent / "fixtures" / "xml"
FIXTURE_FILES = sorted(FIXTURES.glob("*.xml"))
_HW = re.compile(r"<!-- virtual_hw_version=(\d+) -->")


def domain(
    devices: str = "", *, extra: str = "", os: str = "<os><type>hvm</type></os>", head: str = ""
) -> str:
    """A small valid domain with the given pieces."""
    return (
        f"<domain type='vmware'{head}><name>t</name><uuid>564d9bef-acd9-b4e0-c8f0-aea8b9103515</uuid>"
        f"<memory unit='MiB'>64</memory>{extra}{os}<devices>{devices}</devices></domain>"
    )


def entries(xml: str, **kwargs) -> dict[str, str]:
    return {key: value for key, value in parse_vmx(domxml_to_native(xml, **kwargs)).items()}


# ---------------------------------------------------------------- fixtures


@pytest.mark.parametrize("xml_path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture(xml_path: Path) -> None:
    text = xml_path.read_text(encoding="utf-8")
    hw = _HW.search(text)
    got = domxml_to_native(text, virtual_hw_version=int(hw.group(1)) if hw else 4)
    assert got == xml_path.with_suffix(".vmx").read_text(encoding="utf-8")


def test_fixtures_cover_the_features() -> None:
    names = {p.stem for p in FIXTURE_FILES}
    assert len(names) >= 30
    assert all(p.with_suffix(".vmx").is_file() for p in FIXTURE_FILES)


def test_public_entry_point_is_the_same_function() -> None:
    assert esxnb.domxml_to_native is domxml_to_native


# ---------------------------------------------------------------- generated values


def test_missing_uuid_is_generated_at_random() -> None:
    xml = domain().replace("<uuid>564d9bef-acd9-b4e0-c8f0-aea8b9103515</uuid>", "")
    first, second = entries(xml)["uuid.bios"], entries(xml)["uuid.bios"]
    pattern = r"([0-9a-f]{2} ){7}[0-9a-f]{2}-([0-9a-f]{2} ){7}[0-9a-f]{2}"
    assert re.fullmatch(pattern, first) and re.fullmatch(pattern, second)
    assert first != second


def test_missing_mac_is_generated_with_the_vmware_prefix() -> None:
    xml = domain("<interface type='bridge'><source bridge='VM Network'/></interface>")
    first, second = entries(xml), entries(xml)
    assert first["ethernet0.addressType"] == "generated"
    assert first["ethernet0.generatedAddressOffset"] == "0"
    assert re.fullmatch(r"00:0c:29(:[0-9a-f]{2}){3}", first["ethernet0.generatedAddress"])
    assert "ethernet0.checkMACAddress" not in first
    assert first["ethernet0.generatedAddress"] != second["ethernet0.generatedAddress"]


# ---------------------------------------------------------------- restrictions


@pytest.mark.parametrize("count, valid", [(3, "2 or 4"), (5, "4 or 6"), (15, "14 or 16")])
def test_vcpu_count_must_be_one_or_even(count: int, valid: str) -> None:
    with pytest.raises(RestrictionError) as info:
        domxml_to_native(domain(extra=f"<vcpu>{count}</vcpu>"))
    message = str(info.value)
    assert f"{count} vCPUs" in message and "1 or a multiple of 2" in message and valid in message


@pytest.mark.parametrize("count", [1, 2, 4, 16])
def test_valid_vcpu_counts(count: int) -> None:
    assert entries(domain(extra=f"<vcpu>{count}</vcpu>"))["numvcpus"] == str(count)


def test_memory_is_rounded_up_like_libvirt_unless_strict() -> None:
    xml = domain().replace("<memory unit='MiB'>64</memory>", "<memory unit='KiB'>219136</memory>")
    got = entries(xml)
    assert got["memsize"] == "216" and got["sched.mem.max"] == "214"
    with pytest.raises(RestrictionError) as info:
        domxml_to_native(xml, strict=True)
    message = str(info.value)
    assert "219136 KiB" in message and "multiple of 4096 KiB" in message
    assert "217088 KiB or 221184 KiB" in message


def test_strict_accepts_a_multiple_of_4096_kib() -> None:
    assert entries(domain(), strict=True)["memsize"] == "64"


def test_sata_needs_hardware_version_10() -> None:
    xml = domain("<disk type='file'><source file='[ds] a.vmdk'/><target dev='sda' bus='sata'/></disk>")
    with pytest.raises(RestrictionError, match="virtual hardware version 10"):
        domxml_to_native(xml)
    assert entries(xml, virtual_hw_version=10)["sata0:0.fileName"] == "/vmfs/volumes/ds/a.vmdk"


def test_wide_scsi_units_need_pvscsi_and_hardware_13() -> None:
    disk = (
        "<disk type='file'><source file='[ds] a.vmdk'/><target dev='sdp' bus='scsi'/>"
        "<address type='drive' controller='0' bus='0' unit='16'/></disk>"
    )
    with pytest.raises(RestrictionError, match="version 13"):
        domxml_to_native(domain(disk + "<controller type='scsi' index='0' model='vmpvscsi'/>"))
    with pytest.raises(RestrictionError, match="vmpvscsi"):
        domxml_to_native(
            domain(disk + "<controller type='scsi' index='0' model='lsilogic'/>"), virtual_hw_version=14
        )
    ok = entries(domain(disk + "<controller type='scsi' index='0' model='vmpvscsi'/>"), virtual_hw_version=14)
    assert ok["scsi0:16.fileName"] == "/vmfs/volumes/ds/a.vmdk"


def test_nic_count_depends_on_hardware_version() -> None:
    nic = "<interface type='null'><mac address='00:50:56:00:00:01'/></interface>"
    with pytest.raises(ConversionError, match="4 network interfaces"):
        domxml_to_native(domain(nic * 5))
    assert "ethernet9.present" in entries(domain(nic * 10), virtual_hw_version=7)
    with pytest.raises(ConversionError, match="10"):
        domxml_to_native(domain(nic * 11), virtual_hw_version=7)


# ---------------------------------------------------------------- refused input, with the reason


REFUSED = [
    ("<domain type='kvm'><name>t</name></domain>", "type='vmware'"),
    ("<domain><name>t</name></domain>", "no type attribute"),
    ("<vm type='vmware'/>", "expecting <domain>"),
    (domain().replace("<name>t</name>", ""), "needs a <name>"),
    (domain(os=""), "<os><type>hvm</type></os>"),
    (domain(os="<os><type>xen</type></os>"), "'xen'"),
    (domain(os="<os><type arch='aarch64'>hvm</type></os>"), "'aarch64'"),
    (domain(os="<os firmware='uboot'><type>hvm</type></os>"), "'uboot'"),
    (domain(os="<os><type>hvm</type><smbios mode='sysinfo'/></os>"), "sysinfo"),
    (domain().replace("<memory unit='MiB'>64</memory>", ""), "<memory>"),
    (domain().replace("unit='MiB'>64", "unit='MiB'>lots"), "unsigned integer"),
    (domain().replace("unit='MiB'", "unit='parsecs'"), "unknown unit 'parsecs'"),
    (domain().replace("564d9bef-acd9", "xyz"), "not a UUID"),
    (domain(extra="<vcpu>0</vcpu>"), "greater than 0"),
    (domain(extra="<vcpu>two</vcpu>"), "unsigned integer"),
    (domain(extra="<vcpu current='1'>2</vcpu>"), "current"),
    (domain(extra="<vcpu cpuset='0-'>2</vcpu>"), "CPU list"),
    (domain(extra="<vcpu cpuset='0'>2</vcpu>"), "at least 2 CPUs"),
    (domain(extra="<vcpu>2</vcpu><cpu mode='host-passthrough'/>"), "host-passthrough"),
    (domain(extra="<vcpu>2</vcpu><cpu/>"), "<topology"),
    (
        domain(extra="<vcpu>4</vcpu><cpu><topology sockets='2' cores='1' threads='2'/></cpu>"),
        "1 thread per core",
    ),
    (domain(extra="<vcpu>4</vcpu><cpu><topology sockets='1' cores='2' threads='1'/></cpu>"), "makes 2 vCPUs"),
    (domain("<disk type='file'><source file='[ds] a.vmdk'/><target dev='vda'/></disk>"), "bus 'virtio'"),
    (domain("<disk type='file'><source file='[ds] a.vmdk'/></disk>"), "no <target dev="),
    (domain("<disk type='file'><source file='[ds] a.vmdk'/><target dev='hda' bus='scsi'/></disk>"), "'sd'"),
    (domain("<disk type='file'><source file='[ds] a.vmdk'/><target dev='sdbi'/></disk>"), "controllers 0..3"),
    (domain("<disk type='file'><source file='[ds] a.vmdk'/><target dev='hde'/></disk>"), "hda..hdd"),
    (
        domain("<disk type='file' device='floppy'><source file='[ds] f.flp'/><target dev='fdc'/></disk>"),
        "fda, fdb",
    ),
    (domain("<disk type='file' device='floppy'><target dev='sda' bus='scsi'/></disk>"), "bus 'fdc'"),
    (domain("<disk type='file'><source file='[ds] a.img'/><target dev='sda'/></disk>"), "'.vmdk'"),
    (
        domain("<disk type='file' device='cdrom'><source file='[ds] a.img'/><target dev='hda'/></disk>"),
        "'.iso'",
    ),
    (domain("<disk type='file'><source file='disks/a.vmdk'/><target dev='sda'/></disk>"), "relative path"),
    (domain("<disk type='file'><target dev='sda'/></disk>"), "no <source file="),
    (domain("<disk type='block'><source dev='/dev/sdb'/><target dev='sda'/></disk>"), "type='file'"),
    (domain("<disk type='network'><target dev='sda'/></disk>"), "type 'network'"),
    (
        domain("<disk type='file' device='lun'><source file='[ds] a.iso'/><target dev='sda'/></disk>"),
        "'block'",
    ),
    (
        domain("<disk type='file'><source file='[ds] a.vmdk'/><target dev='sda'/></disk>" * 2),
        "used by two disks",
    ),
    (
        domain(
            "<disk type='file'><source file='[ds] a.vmdk'/><target dev='sda'/>"
            "<address type='drive' controller='1' bus='0' unit='0'/></disk>"
        ),
        "does not match the target dev",
    ),
    (
        domain(
            "<disk type='file'><source file='[ds] a.vmdk'/><target dev='sda'/><address type='pci'/></disk>"
        ),
        "type 'pci'",
    ),
    (
        domain(
            "<disk type='file'><driver cache='none'/><source file='[ds] a.vmdk'/><target dev='sda'/></disk>"
        ),
        "cache mode 'none'",
    ),
    (
        domain(
            "<disk type='file'><driver name='qemu'/><source file='[ds] a.vmdk'/><target dev='sda'/></disk>"
        ),
        "not a SCSI controller model",
    ),
    (
        domain(
            "<controller type='scsi' index='0' model='buslogic'/>"
            "<disk type='file'><driver name='lsilogic'/><source file='[ds] a.vmdk'/><target dev='sda'/></disk>"
        ),
        "inconsistent SCSI controller model",
    ),
    (
        domain(
            "<controller type='scsi' index='0' model='virtio-scsi'/>"
            "<disk type='file'><source file='[ds] a.vmdk'/><target dev='sda'/></disk>"
        ),
        "'virtio-scsi'",
    ),
    (domain("<controller type='scsi' index='0' model='megaraid'/>"), "'megaraid'"),
    (
        domain("<controller type='scsi' index='0'/><controller type='scsi' index='0'/>"),
        "two SCSI controllers",
    ),
    (domain("<interface type='network'><source network='default'/></interface>"), "type 'network'"),
    (domain("<interface type='bridge'/>"), "<source bridge="),
    (
        domain("<interface type='bridge'><source bridge='x'/><model type='virtio'/></interface>"),
        "model 'virtio'",
    ),
    (domain("<interface type='user'><mac address='01:00:5e:00:00:01'/></interface>"), "multicast"),
    (domain("<interface type='user'><mac address='00:50:56:zz:00:01'/></interface>"), "not a MAC address"),
    (
        domain("<interface type='user'><mac address='00:50:56:00:00:01' type='random'/></interface>"),
        "'random'",
    ),
    (domain("<interface type='vds'><source switchid='x' portid='1'/></interface>"), "portgroupid"),
    (domain("<interface type='bridge'><source bridge='a\"b'/></interface>"), "ethernet0.networkName"),
    (domain("<serial type='pty'/>"), "type 'pty'"),
    (domain("<serial type='file'/>"), "<source path="),
    (domain("<serial type='tcp'><source host='h'/></serial>"), "service"),
    (domain("<serial type='dev'><source path='/dev/ttyS0'/><target port='4'/></serial>"), "ports 0..3"),
    (domain("<serial type='tcp'><source host='h' service='1'/><protocol type='ssh'/></serial>"), "'ssh'"),
    (domain("<parallel type='pipe'><source path='p'/></parallel>"), "type 'pipe'"),
    (domain("<parallel type='dev'><source path='/dev/p'/><target port='0'/></parallel>" * 2), "use port 0"),
    (domain("<console type='pty'/><console type='pty'><target type='serial'/></console>"), "first <console>"),
    (domain("<graphics type='spice'/>"), "'spice'"),
    (domain("<graphics/>"), "needs a type"),
    (domain("<graphics type='vnc'/><graphics type='vnc'/>"), "one VNC display"),
    (domain("<video><model type='cirrus'/></video>"), "'cirrus'"),
    (domain("<video><model type='vmvga' heads='2'/></video>"), "multi-head"),
    (domain("<video/><video/>"), "one video device"),
    (domain("<filesystem type='block'><source dev='/dev/x'/><target dir='d'/></filesystem>"), "'mount'"),
    (domain("<filesystem><target dir='d'/></filesystem>"), "<source dir="),
    (
        domain(extra="<description>ok</description>").replace("<name>t</name>", "<name>a\nb</name>"),
        "line break",
    ),
]


@pytest.mark.parametrize("xml, fragment", REFUSED)
def test_refused_with_a_clear_message(xml: str, fragment: str) -> None:
    with pytest.raises(ConversionError) as info:
        domxml_to_native(xml)
    assert fragment in str(info.value)


def test_two_parallel_ports_without_numbers_get_0_and_1() -> None:
    got = entries(domain("<parallel type='dev'><source path='/dev/p0'/></parallel>" * 2))
    assert got["parallel0.fileName"] == got["parallel1.fileName"] == "/dev/p0"


def test_vnc_password_never_appears_in_an_error() -> None:
    secret = 'pa"ss-w0rd'
    with pytest.raises(ConversionError) as info:
        domxml_to_native(domain(f"<graphics type='vnc' passwd='{secret.replace(chr(34), '&quot;')}'/>"))
    assert "ss-w0rd" not in str(info.value) and "VNC password" in str(info.value)


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize("version", [3, 0, -1, "7", 7.0, True, None])
def test_bad_hardware_version(version) -> None:
    with pytest.raises(ValidationError, match="virtual_hw_version"):
        domxml_to_native(domain(), virtual_hw_version=version)


def test_datastores_and_resolver_are_exclusive() -> None:
    with pytest.raises(ValidationError, match="not both"):
        domxml_to_native(domain(), datastores={}, resolver=_Resolver())


def test_non_text_input_is_refused() -> None:
    with pytest.raises(XMLSyntaxError, match="str or bytes"):
        domxml_to_native(12)  # type: ignore[arg-type]


# ---------------------------------------------------------------- a resolver (what a live Connection passes)


class _Resolver:
    """Maps datastore names to mount paths and reports controller models per .vmdk."""

    def __init__(self, models: dict[str, str | None] | None = None) -> None:
        self.models = models or {}
        self.asked: list[str] = []

    def to_datastore_path(self, file_name: str, *, vmx_dir: str | None, allow_missing: bool) -> str | None:
        raise AssertionError("not used by domxml_to_native")

    def to_vmx_path(self, datastore_path: str) -> str:
        if datastore_path.startswith("[local] "):
            return "/vmfs/volumes/4b0d-uuid/" + datastore_path[len("[local] ") :]
        raise ConversionError(f"datastore of {datastore_path!r} not found")

    def autodetect_scsi_model(self, datastore_path: str) -> str | None:
        self.asked.append(datastore_path)
        return self.models.get(datastore_path)


def test_resolver_turns_datastore_paths_into_mount_paths() -> None:
    xml = domain(
        "<disk type='file' device='cdrom'><source file='[local] isos/a.iso'/><target dev='hda'/></disk>"
        "<serial type='file'><source path='[local] vm/serial.log'/></serial>"
    )
    got = entries(xml, resolver=_Resolver())
    assert got["ide0:0.fileName"] == "/vmfs/volumes/4b0d-uuid/isos/a.iso"
    assert got["serial0.fileName"] == "/vmfs/volumes/4b0d-uuid/vm/serial.log"
    with pytest.raises(ConversionError, match="not found"):
        domxml_to_native(xml.replace("[local]", "[other]"), resolver=_Resolver())


def test_auto_scsi_model_is_asked_from_the_resolver() -> None:
    xml = domain(
        "<controller type='scsi' index='0' model='auto'/>"
        "<disk type='file'><source file='[local] vm/a.vmdk'/><target dev='sda'/></disk>"
        "<disk type='file'><source file='[local] vm/b.vmdk'/><target dev='sdb'/></disk>"
        "<disk type='file' device='cdrom'><source file='[local] a.iso'/><target dev='sdc'/></disk>"
    )
    resolver = _Resolver({"[local] vm/a.vmdk": "vmpvscsi", "[local] vm/b.vmdk": "vmpvscsi"})
    assert entries(xml, resolver=resolver)["scsi0.virtualDev"] == "pvscsi"
    assert resolver.asked == ["[local] vm/a.vmdk", "[local] vm/b.vmdk"]  # only .vmdk disks are looked at
    mixed = _Resolver({"[local] vm/a.vmdk": "vmpvscsi", "[local] vm/b.vmdk": "buslogic"})
    with pytest.raises(ConversionError, match="inconsistent controller models"):
        domxml_to_native(xml, resolver=mixed)
    with pytest.raises(ConversionError, match="cannot auto-detect"):
        domxml_to_native(xml, resolver=_Resolver())


def test_offline_auto_scsi_model_is_lsilogic() -> None:
    xml = domain(
        "<controller type='scsi' index='1' model='auto'/>"
        "<disk type='file'><source file='[ds] a.vmdk'/><target dev='sdp'/></disk>"
    )
    assert entries(xml)["scsi1.virtualDev"] == "lsilogic"


# ---------------------------------------------------------------- libvirt parser details that shape the VMX


def test_disks_are_ordered_like_libvirt_inserts_them() -> None:
    xml = domain(
        "<disk type='file'><source file='[ds] b.vmdk'/><target dev='sdb' bus='scsi'/></disk>"
        "<disk type='file' device='cdrom'><target dev='hda' bus='ide'/></disk>"
        "<disk type='file'><source file='[ds] a.vmdk'/><target dev='sda' bus='scsi'/></disk>"
    )
    keys = [k for k, _ in parse_vmx(domxml_to_native(xml)).items() if k.endswith(".present") and ":" in k]
    assert keys == ["scsi0:0.present", "scsi0:1.present", "ide0:0.present"]


def test_bus_follows_the_target_dev_prefix() -> None:
    got = entries(domain("<disk type='file'><source file='[ds] a.vmdk'/><target dev='hdb'/></disk>"))
    assert got["ide0:1.deviceType"] == "ata-hardDisk"


def test_block_cdrom_without_source_is_an_empty_image_as_in_libvirt() -> None:
    got = entries(domain("<disk type='block' device='cdrom'><target dev='hda'/></disk>"))
    assert got["ide0:0.deviceType"] == "cdrom-image" and got["ide0:0.fileName"] == "emptyBackingString"
    # with a source element, even one without a device, it stays a raw (auto-detect) drive
    got = entries(domain("<disk type='block' device='cdrom'><source/><target dev='hda'/></disk>"))
    assert got["ide0:0.deviceType"] == "atapi-cdrom"


def test_vnc_port_minus_one_means_autoport() -> None:
    got = entries(domain("<graphics type='vnc' port='-1'/>"))
    assert got["RemoteDisplay.vnc.enabled"] == "true" and "RemoteDisplay.vnc.port" not in got


def test_namespaced_and_unknown_elements_are_ignored() -> None:
    xml = domain(
        "<input type='mouse' bus='ps2'/><sound model='es1370'/><memballoon model='none'/>",
        head=" xmlns:vmware='http://libvirt.org/schemas/domain/vmware/1.0'",
        extra="<vmware:datacenterpath>dc1</vmware:datacenterpath><clock offset='utc'/><on_crash>destroy</on_crash>",
    )
    assert domxml_to_native(xml) == domxml_to_native(domain())


def test_comments_and_processing_instructions_do_not_matter() -> None:
    xml = domain().replace("<name>", "<!-- c --><?pi x?><name>")
    assert domxml_to_native(xml) == domxml_to_native(domain())


# ---------------------------------------------------------------- input handling and safety


def test_bytes_in_a_declared_encoding() -> None:
    xml = "<?xml version='1.0' encoding='ISO-8859-1'?>" + domain().replace(
        "<name>t</name>", "<name>caf\xe9</name>"
    )
    assert entries(xml.encode("latin-1"))["displayName"] == "caf\xe9"
    python_only = xml.replace("ISO-8859-1", "latin-1")  # a codec name libxml2 does not know
    assert entries(python_only.encode("latin-1"))["displayName"] == "caf\xe9"


def test_str_with_an_encoding_declaration() -> None:
    xml = "<?xml version='1.0' encoding='UTF-16'?>" + domain().replace(
        "<name>t</name>", "<name>\u00e9t\u00e9</name>"
    )
    assert entries(xml)["displayName"] == "\u00e9t\u00e9"


def test_malformed_xml_names_the_line() -> None:
    with pytest.raises(XMLSyntaxError) as info:
        domxml_to_native("<domain type='vmware'>\n<name>t</name>\n<memory>1</memry>\n</domain>")
    assert info.value.line == 3 and "line 3" in str(info.value)


@pytest.mark.parametrize(
    "xml",
    [
        "<!DOCTYPE domain [<!ENTITY x 'y'>]><domain type='vmware'><name>&x;</name></domain>",
        "<!DOCTYPE domain SYSTEM 'http://127.0.0.1:9/domain.dtd'><domain type='vmware'/>",
        "<!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
        "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>]><domain type='vmware'><name>&c;</name></domain>",
        "<?xml version='1.0'?>\n<!DOCTYPE domain [<!ENTITY secret SYSTEM 'file:///etc/passwd'>]>"
        "<domain type='vmware'><name>&secret;</name></domain>",
    ],
    ids=["internal-entity", "external-dtd", "billion-laughs", "external-entity"],
)
def test_dtd_and_entities_are_refused(xml: str) -> None:
    for data in (xml, xml.encode(), xml.encode("utf-16")):
        with pytest.raises(XMLSyntaxError, match="DOCTYPE"):
            domxml_to_native(data)


def test_undeclared_entity_is_an_error_not_an_expansion() -> None:
    with pytest.raises(XMLSyntaxError, match="not defined"):
        domxml_to_native(domain().replace("<name>t</name>", "<name>&passwd;</name>"))


def test_oversized_input_is_refused_before_parsing() -> None:
    padding = "<!--" + "x" * MAX_XML_SIZE + "-->"
    with pytest.raises(XMLSyntaxError, match="more than"):
        domxml_to_native(domain() + padding)
    with pytest.raises(XMLSyntaxError, match="more than"):
        domxml_to_native((domain() + padding).encode())


@pytest.mark.parametrize("text", ["", "   ", b"", "plain text", "<domain", "\ud800", b"\xff\xfe\x00"])
def test_garbage_is_an_xml_syntax_error(text) -> None:
    with pytest.raises(XMLSyntaxError):
        domxml_to_native(text)


def test_every_error_is_an_esxnb_error() -> None:
    for xml, _ in REFUSED:
        with pytest.raises(EsxnbError):
            domxml_to_native(xml[: len(xml) // 2])  # cut in half: malformed
