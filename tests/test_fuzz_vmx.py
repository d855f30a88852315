"""Random and mutated VMX input: the reader and the converter raise only esxnb errors,
and whatever they accept converts to well-formed domain XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from _corpus import CORPUS
from esxnb.errors import EsxnbError
from esxnb.vmx import domxml_from_native, parse_vmx

FIXTURES = Path(__file__).parent / "fixtures" / "vmx"
SEEDS = sorted(p.read_text() for p in FIXTURES.glob("*.vmx"))
if (CORPUS / "vmx2xml").is_dir():
    SEEDS += sorted(p.read_text(encoding="utf-8") for p in (CORPUS / "vmx2xml").glob("*.vmx"))

FAST = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=15000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# keys the converter reads, so that random values reach its checks
KEYS = [
    "config.version", "virtualHW.version", "displayName", "annotation", "uuid.bios", "vm.genid", "vm.genidX",
    "memsize", "sched.mem.max", "sched.mem.minsize", "numvcpus", "cpuid.coresPerSocket", "sched.cpu.affinity",
    "sched.cpu.shares", "guestOS", "firmware", "smbios.reflecthost", "svga.vramSize",
    "RemoteDisplay.vnc.enabled", "RemoteDisplay.vnc.port", "RemoteDisplay.vnc.ip", "RemoteDisplay.vnc.password",
    "scsi0.present", "scsi0.virtualDev", "scsi0:0.present", "scsi0:0.fileName", "scsi0:0.deviceType",
    "scsi0:0.mode", "scsi0:0.writeThrough", "scsi1:15.present", "scsi1:15.fileName", "sata0.present",
    "sata0:9.present", "sata0:9.fileName", "sata0:9.deviceType", "ide0:1.present", "ide0:1.fileName",
    "ide0:1.deviceType", "ide0:1.clientDevice", "floppy0.present", "floppy0.fileType", "floppy0.fileName",
    "isolation.tools.hgfs.disable", "sharedFolder.maxNum", "sharedFolder0.present", "sharedFolder0.enabled",
    "sharedFolder0.hostPath", "sharedFolder0.guestName", "sharedFolder0.writeAccess", "ethernet0.present",
    "ethernet0.virtualDev", "ethernet0.features", "ethernet0.connectionType", "ethernet0.networkName",
    "ethernet0.vnet", "ethernet0.addressType", "ethernet0.generatedAddress", "ethernet0.address",
    "ethernet0.checkMACAddress", "ethernet0.dvs.switchId", "ethernet0.dvs.portId", "ethernet0.dvs.portgroupId",
    "ethernet0.dvs.connectionId", "ethernet7.present", "serial0.present", "serial0.fileType", "serial0.fileName",
    "serial0.network.endPoint", "parallel1.present", "parallel1.fileType", "parallel1.fileName",
]  # fmt: skip
VALUES = [
    "", "true", "FALSE", "8", "4", "13", "0", "-1", "4096", "30", "unlimited", "all", "0,1", "high", "efi",
    "rhel9-64", "lsilogic", "pvscsi", "auto", "a.vmdk", "a.iso", "/vmfs/volumes/ds/a.vmdk", "/vmfs/volumes/missing/x",
    "sub/a.vmdk", "auto detect", "emptyBackingString", "cdrom-raw", "atapi-cdrom", "scsi-passthru",
    "/vmfs/devices/cdrom/x", "independent-nonpersistent", "file", "device", "pipe", "network",
    "telnet://h:1", "tcp://[::1]:0", "custom", "nat", "bridged", "hostonly", "static", "vpx", "generated",
    "00:0c:29:01:02:03", "00:50:56:zz:00:00", "vmxnet", "15", "42 1a 61 77 5a a9 ab b7-59 24 fc 37 6c 18 a1 b4",
    "|22|7c|0a", "%2f|2", "|zz", "99999999999999999999", "9223372036854775807", "server", "client",
]  # fmt: skip

vmx_value = st.one_of(
    st.sampled_from(VALUES), st.text(st.characters(exclude_characters='"\n\r'), max_size=20)
)
vmx_entries = st.lists(st.tuples(st.sampled_from(KEYS), vmx_value), max_size=25)


def check(text: str | bytes) -> None:
    """Only esxnb errors; accepted input gives well-formed XML."""
    try:
        xml = domxml_from_native(text, vmx_path="[ds] dir/x.vmx", include_secrets=True)
    except EsxnbError:
        return
    etree.fromstring(xml.encode())


def structured(entries: list[tuple[str, str]]) -> str:
    return 'config.version = "8"\nvirtualHW.version = "13"\n' + "".join(f'{k} = "{v}"\n' for k, v in entries)


@st.composite
def mutated(draw) -> str:
    """A seed VMX with lines dropped, duplicated, cut or overwritten with junk."""
    lines = draw(st.sampled_from(SEEDS)).split("\n")
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "dup", "cut", "junk", "value", "case"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif action == "junk":
            lines[i] = draw(st.text(max_size=30))
        elif action == "value" and " = " in lines[i]:
            key = lines[i].split(" = ", 1)[0]
            lines[i] = f'{key} = "{draw(vmx_value)}"'
        else:
            lines[i] = lines[i].upper()
    return "\n".join(lines)


def test_seeds_convert():
    for seed in SEEDS:
        check(seed)


@FAST
@given(st.text(max_size=300))
def test_random_text(text):
    check(text)


@FAST
@given(st.binary(max_size=300))
def test_random_bytes(data):
    check(data)
    try:
        parse_vmx(data)
    except EsxnbError:
        pass


@FAST
@given(vmx_entries)
def test_random_entries(entries):
    check(structured(entries))


@FAST
@given(mutated())
def test_mutated_vmx(text):
    check(text)
    check(text.encode("utf-8", "surrogatepass"))


@pytest.mark.slow
@SLOW
@given(vmx_entries)
def test_random_entries_many(entries):
    check(structured(entries))


@pytest.mark.slow
@SLOW
@given(mutated())
def test_mutated_vmx_many(text):
    check(text)


@pytest.mark.slow
@SLOW
@given(st.text(max_size=2000))
def test_random_text_many(text):
    check(text)
