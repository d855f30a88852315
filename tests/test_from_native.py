"""VMX -> domain XML on the project's own fixtures, plus focused checks of each rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

import esxnb
from esxnb.errors import ConversionError, EsxnbError, RestrictionError, ValidationError, VMXSyntaxError
from esxnb.vmx import OfflineDatastores, domxml_from_native, domxml_to_native, parse_vmx

FIXTURES = Path(__file__).parent / "fixtures" / "vmx"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.vmx"))
VMX_PATH = "[datastore1] vms/x.vmx"
HEAD = 'config.version = "8"\nvirtualHW.version = "7"\n'


def convert(body: str, **kwargs) -> str:
    kwargs.setdefault("vmx_path", VMX_PATH)
    return domxml_from_native(HEAD + body, **kwargs)


def tree(body: str, **kwargs) -> etree._Element:
    return etree.fromstring(convert(body, **kwargs).encode())


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture(name):
    vmx = (FIXTURES / f"{name}.vmx").read_bytes()
    expected = (FIXTURES / f"{name}.xml").read_text()
    assert domxml_from_native(vmx, vmx_path=VMX_PATH) == expected


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_round_trip_keeps_what_the_xml_represents(name):
    vmx = (FIXTURES / f"{name}.vmx").read_text()
    hw_version = int(parse_vmx(vmx).get("virtualHW.version"))
    first = domxml_from_native(vmx, vmx_path=VMX_PATH, include_secrets=True)
    back = domxml_to_native(first, virtual_hw_version=hw_version)
    second = domxml_from_native(back, vmx_path=VMX_PATH, include_secrets=True)
    assert second == first


def test_public_api_is_reexported():
    assert esxnb.domxml_from_native is domxml_from_native


# -- domain-level entries ---------------------------------------------------------------


def test_defaults_of_a_minimal_vmx():
    root = tree("")
    assert root.find("name") is None
    assert root.findtext("uuid") == "00000000-0000-0000-0000-000000000000"
    assert root.findtext("memory") == "32768"
    assert root.findtext("currentMemory") == "32768"
    assert root.findtext("vcpu") == "1"
    assert root.find("os/type").get("arch") == "i686"
    assert root.find("devices/video/model").attrib == {"type": "vmvga", "vram": "4096", "primary": "yes"}


def test_unlimited_and_oversized_current_memory_fall_back_to_memsize():
    assert tree('memsize = "64"\nsched.mem.max = "unlimited"\n').findtext("currentMemory") == "65536"
    assert tree('memsize = "64"\nsched.mem.max = "128"\n').findtext("currentMemory") == "65536"
    assert tree('memsize = "64"\nsched.mem.max = "0"\n').findtext("currentMemory") == "65536"


@pytest.mark.parametrize(
    ("shares", "expected"), [("low", "1000"), ("NORMAL", "2000"), ("high", "4000"), ("1234", "1234")]
)
def test_cpu_shares_levels_scale_with_vcpus(shares, expected):
    assert tree(f'numvcpus = "2"\nsched.cpu.shares = "{shares}"\n').findtext("cputune/shares") == expected


def test_affinity_all_means_no_cpuset():
    assert tree('sched.cpu.affinity = "all"\n').find("vcpu").get("cpuset") is None


def test_bios_firmware_is_the_default():
    assert tree('firmware = "bios"\n').find("os").get("firmware") is None


def test_datacenter_path_adds_the_vmware_namespace():
    xml = convert("", datacenter_path="dc1/folder & co")
    assert xml.startswith(
        "<domain type='vmware' xmlns:vmware='http://libvirt.org/schemas/domain/vmware/1.0'>\n"
    )
    assert xml.endswith(
        "  </devices>\n  <vmware:datacenterpath>dc1/folder &amp; co</vmware:datacenterpath>\n</domain>\n"
    )


def test_vnc_password_only_with_include_secrets():
    body = 'RemoteDisplay.vnc.enabled = "true"\nRemoteDisplay.vnc.password = "pa\'ss"\n'
    assert "pa" not in convert(body)
    graphics = tree(body, include_secrets=True).find("devices/graphics")
    assert graphics.get("passwd") == "pa'ss"
    assert graphics.get("port") == "-1" and graphics.get("autoport") == "yes"


def test_control_characters_are_dropped_from_xml_text():
    root = tree('annotation = "bell|07 and |1f unit separator"\n')
    assert root.findtext("description") == "bell and  unit separator"


# -- file names and datastores --------------------------------------------------------------

DISK = 'scsi0.present = "true"\nscsi0:0.present = "true"\nscsi0:0.fileName = "{}"\n'


def disk_source(file_name: str, **kwargs) -> str | None:
    source = tree(DISK.format(file_name), **kwargs).find("devices/disk/source")
    return None if source is None else source.get("file")


def test_bare_file_names_live_next_to_the_vmx():
    assert disk_source("a.vmdk") == "[datastore1] vms/a.vmdk"
    assert disk_source("a.vmdk", vmx_path="[ds] top.vmx") == "[ds] a.vmdk"
    assert disk_source("a.vmdk", vmx_path="/vmfs/volumes/ds/sub/dir/x.vmx") == "[ds] sub/dir/a.vmdk"


def test_without_vmx_path_bare_names_are_unknown_as_in_virsh():
    assert disk_source("a.vmdk", vmx_path=None) == "[?] ?/a.vmdk"


def test_datastore_mapping_renames_volumes():
    volume = "/vmfs/volumes/4af0231d-1eff559a-6369-0024e84773b6/vm/a.vmdk"
    assert disk_source(volume) == "[4af0231d-1eff559a-6369-0024e84773b6] vm/a.vmdk"
    names = {"4af0231d-1eff559a-6369-0024e84773b6": "local"}
    assert disk_source(volume, datastores=names) == "[local] vm/a.vmdk"


def test_absolute_paths_outside_datastores_stay():
    assert disk_source("/data/a.vmdk") == "/data/a.vmdk"


def test_custom_resolver_is_used():
    class Upper(OfflineDatastores):
        def to_datastore_path(self, file_name, *, vmx_dir, allow_missing):
            return "[up] " + file_name.upper()

    assert disk_source("a.vmdk", resolver=Upper()) == "[up] A.VMDK"
    with pytest.raises(ValidationError, match="not both"):
        convert("", resolver=Upper(), datastores={})


@pytest.mark.parametrize(
    ("file_name", "words"),
    [
        ("/vmfs/volumes/missing/a.vmdk", "does not exist"),
        ("/vmfs/volumes/ds/missing.vmdk", "does not exist"),
        ("sub/a.vmdk", "relative path"),
        ("/vmfs/volumes/ds.vmdk", "/vmfs/volumes/<datastore>/<path>"),
    ],
)
def test_hard_disk_file_errors_name_the_entry(file_name, words):
    with pytest.raises(ConversionError, match=words) as info:
        convert(DISK.format(file_name))
    assert str(info.value).startswith("VMX entry 'scsi0:0.fileName' (line 5): ")


def test_bad_vmx_path_is_refused():
    with pytest.raises(ValidationError, match="vmx_path"):
        convert("", vmx_path="relative/x.vmx")


# -- devices -------------------------------------------------------------------------------------


def test_wide_scsi_units_from_hardware_version_13():
    body = 'scsi0.present = "true"\nscsi0:20.present = "true"\nscsi0:20.fileName = "a.vmdk"\n'
    assert tree(body).find("devices/disk") is None  # unit 20 does not exist before version 13
    root = etree.fromstring(
        domxml_from_native(
            'config.version = "8"\nvirtualHW.version = "13"\n' + body, vmx_path=VMX_PATH
        ).encode()
    )
    assert root.find("devices/disk/target").get("dev") == "sdt"
    assert root.find("devices/disk/address").get("unit") == "20"


def test_sata_addresses_follow_libvirt_six_units_per_controller():
    body = 'sata0.present = "true"\nsata0:7.present = "true"\nsata0:7.fileName = "a.vmdk"\n'
    root = tree(body)
    assert root.find("devices/disk/target").get("dev") == "sdh"
    assert root.find("devices/disk/address").attrib["controller"] == "1"
    assert [c.get("index") for c in root.iterfind("devices/controller")] == ["0", "1"]


def test_absent_controller_hides_its_disks():
    assert tree('scsi0:0.present = "true"\nscsi0:0.fileName = "a.vmdk"\n').find("devices/disk") is None


def test_console_follows_the_first_serial_port():
    root = tree('serial1.present = "true"\nserial1.fileName = "/dev/ttyS1"\n')
    console = root.find("devices/console")
    assert console.get("type") == "dev"
    assert console.find("target").attrib == {"type": "serial", "port": "1"}


@pytest.mark.parametrize(
    ("uri", "protocol", "host"),
    [
        ("tcp://h:1", "raw", "h"),
        ("ssl://h:1", "tls", "h"),
        ("telnets://[::1]:1", "telnets", "::1"),
        ("//h:1", "raw", "h"),
    ],
)
def test_network_serial_port_schemes(uri, protocol, host):
    body = f'serial0.present = "true"\nserial0.fileType = "network"\nserial0.fileName = "{uri}"\n'
    serial = tree(body).find("devices/serial")
    assert serial.find("protocol").get("type") == protocol
    assert serial.find("source").get("host") == host
    assert serial.find("source").get("service") == "1"


def test_generated_tap_names_are_left_out():
    body = (
        'ethernet0.present = "true"\nethernet0.connectionType = "custom"\n'
        'ethernet0.networkName = "n"\nethernet0.vnet = "vnet7"\n'
    )
    assert tree(body).find("devices/interface/target") is None


def test_svga_memory_rounds_up_to_a_power_of_two():
    assert tree('svga.vramSize = "5000000"\n').find("devices/video/model").get("vram") == "8192"


# -- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        ('memsize = "30"\n', RestrictionError, "multiple of 4 (MiB), found 30; 28 or 32 would be valid"),
        ('memsize = "0"\n', RestrictionError, "positive multiple of 4"),
        ('memsize = "lots"\n', ConversionError, "'memsize' (line 3): must be an integer"),
        ('numvcpus = "0"\n', ConversionError, "greater than 0"),
        ('numvcpus = "2"\ncpuid.coresPerSocket = "4"\n', ConversionError, "larger than 'numvcpus'"),
        ('numvcpus = "2"\nsched.cpu.affinity = "1"\n', ConversionError, "at least as many CPUs"),
        ('sched.cpu.affinity = "x"\n', ConversionError, "comma-separated list"),
        ('sched.cpu.shares = "-5"\n', ConversionError, "'sched.cpu.shares'"),
        ('firmware = "uefi"\n', ConversionError, "'efi' or 'bios'"),
        ('uuid.bios = "not a uuid"\n', ConversionError, "is not a UUID"),
        ('displayName = "50|2"\n', ConversionError, "invalid escape sequence"),
        ('smbios.reflecthost = "maybe"\n', ConversionError, "'true' or 'false'"),
        ('scsi0.present = "true"\nscsi0.virtualDev = "auto"\n', ConversionError, "'pvscsi', found 'auto'"),
        (
            'ide0:0.present = "true"\nide0:0.fileName = "disk.img"\n',
            ConversionError,
            "'disk.img' is not a disk",
        ),
        (
            'ide0:0.present = "true"\nide0:0.deviceType = "atapi-cdrom"\nide0:0.fileName = "a.iso"\n',
            ConversionError,
            "must be 'cdrom-image'",
        ),
        ('floppy0.present = "true"\nfloppy0.fileType = "tape"\n', ConversionError, "'device' or 'file'"),
        ('ethernet0.present = "true"\nethernet0.virtualDev = "rtl8139"\n', ConversionError, "'e1000e'"),
        ('ethernet0.present = "true"\nethernet0.addressType = "random"\n', ConversionError, "'vpx'"),
        (
            'ethernet0.present = "true"\nethernet0.generatedAddress = "00:0c:29"\n',
            ConversionError,
            "MAC address",
        ),
        ('ethernet0.present = "true"\nethernet0.connectionType = "hostonly"\n', ConversionError, "hostonly"),
        (
            'ethernet0.present = "true"\nethernet0.connectionType = "bridged"\n',
            ConversionError,
            "networkName",
        ),
        ('ethernetX.present = "true"\n', ConversionError, "network adapter number"),
        (
            'serial0.present = "true"\nserial0.fileType = "network"\nserial0.fileName = "tcp://h"\n',
            ConversionError,
            "no port",
        ),
        (
            'serial0.present = "true"\nserial0.fileType = "network"\nserial0.fileName = "gopher://h:1"\n',
            ConversionError,
            "unsupported scheme 'gopher'",
        ),
        ('parallel0.present = "true"\nparallel0.fileName = "x"\n', ConversionError, "parallel0.fileType"),
        (
            'RemoteDisplay.vnc.enabled = "true"\nRemoteDisplay.vnc.port = "70000"\n',
            ConversionError,
            "0-65535",
        ),
        (
            'isolation.tools.hgfs.disable = "false"\nsharedFolder.maxNum = "1"\nsharedFolder0.present = "true"\n'
            'sharedFolder0.enabled = "true"\n',
            ConversionError,
            "sharedFolder0.hostPath",
        ),
    ],
)
def test_refusals_say_which_entry_and_what_is_allowed(body, error, words):
    with pytest.raises(error) as info:
        convert(body)
    assert words in str(info.value)


def test_essential_entries():
    with pytest.raises(ConversionError, match="missing essential VMX entry 'config.version'"):
        domxml_from_native('virtualHW.version = "4"\n')
    with pytest.raises(ConversionError, match="must be 8, found 7"):
        domxml_from_native('config.version = "7"\nvirtualHW.version = "4"\n')
    with pytest.raises(ConversionError, match="4 or higher, found 3"):
        domxml_from_native('config.version = "8"\nvirtualHW.version = "3"\n')


def test_syntax_errors_come_through_with_their_line():
    with pytest.raises(VMXSyntaxError) as info:
        domxml_from_native(HEAD + "memsize = 64\n")
    assert info.value.line == 3


@pytest.mark.parametrize("bad", [None, 42, ["a = 'b'"]])
def test_wrong_input_types_raise_esxnb_errors(bad):
    with pytest.raises(EsxnbError):
        domxml_from_native(bad)  # type: ignore[arg-type]
