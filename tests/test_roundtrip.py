"""VMX -> domain XML -> VMX keeps what the mapping represents.

Starting from a VMX (the libvirt corpus inputs and the project's VMX fixtures), one
conversion each way reaches a fixed point: converting the produced VMX back gives the
same domain XML, and that XML gives the same VMX again. The identity of the machine
(name, annotation, memory, vCPUs, UUID, firmware...) survives the whole trip.

What the mapping does not represent is, as in libvirt, not expected back: unknown VMX
keys, devices in client mode, and the VNC password (virsh never prints it in XML).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _corpus import CORPUS

from esxnb.errors import ConversionError
from esxnb.vmx import domxml_from_native, domxml_to_native, parse_vmx
from esxnb.vmx._vmxfile import unescape_hex

VMX_PATH = "[datastore] directory/vm.vmx"
HERE = Path(__file__).parent


def _vmx_sources() -> list:
    sources = []
    manifest = CORPUS / "manifest.json"
    if manifest.is_file():
        import json

        for case in json.loads(manifest.read_text())["cases"]:
            if case["direction"] == "vmx2xml" and not case["should_fail"]:
                sources.append(
                    pytest.param(CORPUS / case["input"], case["datacenter_path"], id=f"corpus-{case['name']}")
                )
    for path in sorted((HERE / "fixtures" / "vmx").glob("*.vmx")):
        sources.append(pytest.param(path, None, id=f"fixture-{path.stem}"))
    return sources


def _hw_version(vmx: bytes) -> int:
    value = parse_vmx(vmx).get("virtualHW.version") or "4"
    return max(4, int(value))


def _cycle(vmx: bytes | str, hw: int, datacenter: str | None) -> tuple[str, str]:
    xml = domxml_from_native(vmx, vmx_path=VMX_PATH, datacenter_path=datacenter)
    return xml, domxml_to_native(xml, virtual_hw_version=hw)


@pytest.mark.parametrize("path, datacenter", _vmx_sources())
def test_vmx_round_trip_reaches_a_fixed_point(path: Path, datacenter: str | None) -> None:
    original = path.read_bytes()
    hw = _hw_version(original)
    xml1, vmx1 = _cycle(original, hw, datacenter)
    xml2, vmx2 = _cycle(vmx1, hw, datacenter)
    if path.stem in TWO_STEP:
        xml1, vmx1 = xml2, vmx2
        xml2, vmx2 = _cycle(vmx1, hw, datacenter)
    assert xml2 == xml1
    assert vmx2 == vmx1


# A source-less block CD-ROM (an ``atapi-cdrom`` without a file) comes back from XML as libvirt
# writes it, an empty ``cdrom-image`` (libvirt's parser makes a block disk without a source a
# file disk), which then round-trips unchanged: a fixed point one cycle later.
TWO_STEP = {"cdrom-ide-empty-2"}


def _normalized(key: str, value: str) -> str:
    """One spelling per meaning: hex escapes decoded, UUID separators and CPU order dropped."""
    value = value.strip()
    if key == "uuid.bios":
        return re.sub(r"[ -]", "", value).lower()
    if key in ("displayName", "annotation"):
        return unescape_hex(unescape_hex(value, "%") if key == "displayName" else value, "|")
    if key == "sched.cpu.affinity":
        return ",".join(sorted(value.replace(" ", "").split(","), key=int))
    return value.lower() if value.lower() in ("true", "false") else value


IDENTITY_KEYS = (
    "displayName", "annotation", "uuid.bios", "memsize", "sched.mem.minsize", "numvcpus",
    "cpuid.coresPerSocket", "sched.cpu.affinity", "firmware", "smbios.reflecthost", "vm.genid", "vm.genidX",
)  # fmt: skip


@pytest.mark.parametrize("path, datacenter", _vmx_sources())
def test_machine_identity_survives(path: Path, datacenter: str | None) -> None:
    original = parse_vmx(path.read_bytes())
    _, vmx = _cycle(path.read_bytes(), _hw_version(path.read_bytes()), datacenter)
    back = parse_vmx(vmx)
    for key in IDENTITY_KEYS:
        if key in original and original.get(key, "").strip() and key in back:
            assert _normalized(key, back.get(key)) == _normalized(key, original.get(key)), key
    for key in ("displayName", "memsize", "numvcpus"):
        if key in original:
            assert key in back, key


_HW = re.compile(r"<!-- virtual_hw_version=(\d+) -->")


@pytest.mark.parametrize("path", sorted((HERE / "fixtures" / "xml").glob("*.xml")), ids=lambda p: p.stem)
def test_xml_fixtures_round_trip(path: Path) -> None:
    """From domain XML the first VMX -> XML step adds libvirt's defaults (the SVGA device); then it is stable."""
    text = path.read_text(encoding="utf-8")
    hw = _HW.search(text)
    version = int(hw.group(1)) if hw else 4
    vmx0 = domxml_to_native(text, virtual_hw_version=version)
    xml1, vmx1 = _cycle(vmx0, version, None)
    xml2, vmx2 = _cycle(vmx1, version, None)
    assert (xml2, vmx2) == (xml1, vmx1)
    # every entry of the first VMX is still there, except the password the XML never shows
    first = {k.lower(): v for k, v in parse_vmx(vmx0).items() if k != "RemoteDisplay.vnc.password"}
    again = {k.lower(): v for k, v in parse_vmx(vmx1).items()}
    assert {k: again.get(k) for k in first} == first


def test_missing_media_round_trip_as_empty_drives() -> None:
    vmx = (
        'config.version = "8"\nvirtualHW.version = "4"\ndisplayName = "m"\n'
        'ide0:0.present = "true"\nide0:0.deviceType = "cdrom-image"\n'
        'ide0:0.fileName = "/vmfs/volumes/missing/x.iso"\n'
    )
    xml, back = _cycle(vmx, 4, None)
    assert "<source" not in xml
    assert parse_vmx(back).get("ide0:0.fileName") == "emptyBackingString"


def test_hard_disk_on_missing_datastore_does_not_convert() -> None:
    vmx = (
        'config.version = "8"\nvirtualHW.version = "4"\ndisplayName = "m"\nscsi0.present = "true"\n'
        'scsi0:0.present = "true"\nscsi0:0.deviceType = "scsi-hardDisk"\n'
        'scsi0:0.fileName = "/vmfs/volumes/missing/x.vmdk"\n'
    )
    with pytest.raises(ConversionError):
        _cycle(vmx, 4, None)
