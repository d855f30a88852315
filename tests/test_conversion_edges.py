"""Inputs where esxnb and libvirt's own C converter parted ways when run side by side on mutated
test data (issue 20): escapes that would put a NUL into the XML, source-less block CD-ROMs and
floppies, a VNC listen address given twice, and sizes that overflow the domain XML's types."""

from __future__ import annotations

import pytest
from lxml import etree

from esxnb import errors
from esxnb.vmx import domxml_from_native, domxml_to_native

HEAD = 'config.version = "8"\nvirtualHW.version = "4"\n'


def _domain(devices: str) -> str:
    return (
        "<domain type='vmware'><name>t</name><uuid>564d9bef-acd9-b4e0-c8f0-aea8b9103515</uuid>"
        f"<memory>65536</memory><os><type>hvm</type></os><devices>{devices}</devices></domain>"
    )


def test_an_escaped_nul_ends_the_value_as_in_libvirt() -> None:
    xml = domxml_from_native(
        HEAD + 'displayName = "web|00tail"\nannotation = "note|00hidden"\nmemsize = "64"\n'
    )
    assert "\x00" not in xml
    root = etree.fromstring(xml.encode())  # well-formed
    assert root.findtext("name") == "web" and root.findtext("description") == "note"


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (
            "<disk type='block' device='cdrom'><target dev='hda' bus='ide'/></disk>",
            ['ide0:0.deviceType = "cdrom-image"', 'ide0:0.fileName = "emptyBackingString"'],
        ),
        (
            "<disk type='block' device='floppy'><target dev='fda' bus='fdc'/></disk>",
            ['floppy0.present = "true"', 'floppy0.fileType = "file"'],
        ),
    ],
)
def test_a_block_drive_without_source_is_an_empty_file_drive(device: str, expected: list[str]) -> None:
    vmx = domxml_to_native(_domain(device))
    for line in expected:
        assert line in vmx.splitlines()
    assert "atapi-cdrom" not in vmx and 'fileType = "device"' not in vmx


def test_the_vnc_listen_attribute_gives_the_address() -> None:
    graphics = "<graphics type='vnc' port='5903' listen='10.0.0.1'><listen type='address'/></graphics>"
    assert 'RemoteDisplay.vnc.ip = "10.0.0.1"' in domxml_to_native(_domain(graphics)).splitlines()
    same = "<graphics type='vnc' port='5903' listen='10.0.0.1'><listen type='address' address='10.0.0.1'/></graphics>"
    assert 'RemoteDisplay.vnc.ip = "10.0.0.1"' in domxml_to_native(_domain(same)).splitlines()
    other = "<graphics type='vnc' port='5903' listen='10.0.0.1'><listen type='address' address='10.0.0.2'/></graphics>"
    with pytest.raises(errors.ConversionError, match="listen='10.0.0.1'.*10.0.0.2.*disagree"):
        domxml_to_native(_domain(other))


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ('memsize = "9223372036854775804"', "memsize"),
        ('memsize = "64"\nsvga.vramSize = "4398046511104"', "svga.vramSize"),
    ],
)
def test_sizes_beyond_the_domain_xmls_types_are_refused(entry: str, key: str) -> None:
    with pytest.raises(errors.ConversionError, match=rf"'{key}'.*do(es)? not fit"):
        domxml_from_native(HEAD + entry + "\n")


def test_the_largest_sizes_that_fit_still_convert() -> None:
    xml = domxml_from_native(HEAD + 'memsize = "8796093022204"\nsvga.vramSize = "2199023255552"\n')
    root = etree.fromstring(xml.encode())
    assert int(root.findtext("memory")) == 8796093022204 * 1024
    assert root.find("devices/video/model").get("vram") == str(2**31)


@pytest.mark.parametrize(
    ("extra", "devices", "message"),
    [
        ("<clock offset='foo'/>", "", r"<clock offset=...> 'foo' is not one of utc"),
        ("<on_crash>destroy </on_crash>", "", r"<on_crash> 'destroy ' is not one of destroy"),
        ("<maxMemory>1048576</maxMemory>", "", r"<maxMemory> needs a size and a slots='N'"),
        ("<cputune><shares>1</shares></cputune>", "", r"below libvirt's minimum of 2"),
        ("<numatune><memory nodeset='0-x'/></numatune>", "", r"nodeset"),
        (
            "",
            "<controller type='ide' index='0'/><controller type='ide' index='0'/>",
            r"two IDE controllers have index 0",
        ),
        ("", "<serial type='null'><target type='bogus'/></serial>", r"<serial><target type=...> 'bogus'"),
        (
            "",
            "<controller type='sata' index='0' model='lsilogic'/>",
            r"<controller type='sata' model='lsilogic'>: the model must be none \(this type takes no model\)",
        ),
        (
            "",
            "<controller type='scsi' index='0' model='megaraid'/>",
            r"the model must be one of auto, buslogic",
        ),
        (
            "",
            "<disk type='file' device='disk'><source file='[ds] a.vmdk'/><target dev='sda' bus='scsi'/>"
            "<address type='drive' controller='zero' bus='0' target='0' unit='0'/></disk>",
            r"controller='zero'>: controller must be a whole number",
        ),
    ],
)
def test_what_libvirts_domain_parser_refuses_is_refused(extra: str, devices: str, message: str) -> None:
    xml = _domain(devices).replace("</domain>", extra + "</domain>")
    with pytest.raises(errors.ConversionError, match=message):
        domxml_to_native(xml)


def test_the_valid_forms_still_convert() -> None:
    extra = (
        "<clock offset='utc'/><on_crash>destroy</on_crash><maxMemory slots='16'>4194304</maxMemory>"
        "<cputune><shares>2048</shares></cputune><numatune><memory nodeset='0-1'/></numatune>"
    )
    devices = "<controller type='ide' index='0'/><controller type='scsi' index='0' model='lsilogic'/>"
    assert "memsize" in domxml_to_native(_domain(devices).replace("</domain>", extra + "</domain>"))
