"""The ``esxnb`` command line, offline and against the simulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from esxnb.cli import main
from esxnb.simulator import Simulator

SPEC_VMX = """\
config.version = "8"
virtualHW.version = "4"
displayName = "Fedora11"
memsize = "1024"
numvcpus = "1"
guestOS = "rhel5"
uuid.bios = "50 11 5e 16 9b dc 49 d7-f1 71 53 c4 d7 f9 17 10"
scsi0.present = "true"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "true"
scsi0:0.fileName = "/vmfs/volumes/498076b2-02796c1a-ef5b-000ae484a6a3/Fedora11/Fedora11.vmdk"
scsi0:0.deviceType = "scsi-hardDisk"
ethernet0.present = "true"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "vpx"
ethernet0.generatedAddress = "00:50:56:91:48:c7"
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_from_native_offline_with_datastore_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vmx = tmp_path / "demo.vmx"
    vmx.write_text(SPEC_VMX)
    code, out, err = run(
        capsys,
        "domxml-from-native",
        "vmware-vmx",
        str(vmx),
        "--datastore",
        "498076b2-02796c1a-ef5b-000ae484a6a3=local-storage",
    )
    assert code == 0, err
    assert "<source file='[local-storage] Fedora11/Fedora11.vmdk'/>" in out
    assert "<uuid>50115e16-9bdc-49d7-f171-53c4d7f91710</uuid>" in out


def test_to_native_offline_then_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vmx = tmp_path / "demo.vmx"
    vmx.write_text(SPEC_VMX)
    _, xml, _ = run(capsys, "domxml-from-native", "vmware-vmx", str(vmx))
    (tmp_path / "demo.xml").write_text(xml)
    code, out, err = run(
        capsys, "domxml-to-native", "vmware-vmx", str(tmp_path / "demo.xml"), "--virtual-hw-version", "7"
    )
    assert code == 0, err
    assert 'virtualHW.version = "7"' in out
    assert 'displayName = "Fedora11"' in out


def test_errors_are_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.vmx"
    bad.write_text('displayName = "x"\nthis is not vmx\n')
    code, out, err = run(capsys, "domxml-from-native", "vmware-vmx", str(bad))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "line 2" in err
    code, _, err = run(capsys, "domxml-from-native", "qemu-argv", str(bad))
    assert code == 1 and "only 'vmware-vmx'" in err
    code, _, err = run(capsys, "domxml-to-native", "vmware-vmx", str(tmp_path / "missing.xml"))
    assert code == 1 and "cannot read" in err
    code, _, err = run(capsys, "domxml-from-native", "vmware-vmx", str(bad), "--datastore", "novalue")
    assert code == 1 and "VOLUME=NAME" in err


@pytest.mark.simulator
def test_online_commands(
    esx_sim: Simulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ESXNB_USERNAME", esx_sim.username)
    monkeypatch.setenv("ESXNB_PASSWORD", esx_sim.password)
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(tmp_path / "none.conf"))
    uri = esx_sim.uri_with(no_verify=1)
    code, out, err = run(capsys, "domains", "-c", uri)
    assert code == 0, err
    for vm in esx_sim.vms():
        assert vm["name"] in out
    assert esx_sim.password not in out + err
    code, out, err = run(capsys, "domains", "-c", uri, "--scheduler")
    assert code == 0 and "reservation" in out
    vmx = tmp_path / "demo.vmx"
    vmx.write_text(SPEC_VMX)
    code, out, err = run(capsys, "domxml-to-native", "vmware-vmx", str(vmx.with_suffix(".xml")), "-c", uri)
    assert code == 1  # missing file is reported, not a traceback
    online_vmx = tmp_path / "online.vmx"
    online_vmx.write_text(SPEC_VMX.replace("498076b2-02796c1a-ef5b-000ae484a6a3", "LocalDS_0"))
    code, xml, err = run(capsys, "domxml-from-native", "vmware-vmx", str(online_vmx), "-c", uri)
    assert code == 0, err
    assert "<source file='[LocalDS_0] Fedora11/Fedora11.vmdk'/>" in xml
    (tmp_path / "online.xml").write_text(xml)
    code, out, err = run(capsys, "domxml-to-native", "vmware-vmx", str(tmp_path / "online.xml"), "-c", uri)
    assert code == 0, err
    assert 'scsi0:0.fileName = "/vmfs/volumes/' in out and 'virtualHW.version = "4"' not in out
    code, _, err = run(capsys, "domains", "-c", esx_sim.uri)  # no CA given: verification fails
    assert code == 1 and "no_verify=1" in err


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "esxnb", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("domxml-from-native", "domxml-to-native", "migrate", "sim", "lab", "domains"):
        assert command in result.stdout
