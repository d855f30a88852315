"""virsh's pool-, vol-, net- and iface- commands of the ``esxnb`` command against the
simulator, and the virsh table format."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from esxnb._cli_common import pretty_capacity
from esxnb._cli_common import vsh_table as table
from esxnb.cli import main
from esxnb.simulator import Simulator

pytestmark = pytest.mark.simulator


@pytest.fixture
def esxnb(
    esx_sim: Simulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("ESXNB_USERNAME", esx_sim.username)
    monkeypatch.setenv("ESXNB_PASSWORD", esx_sim.password)
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(tmp_path / "none.conf"))
    uri = esx_sim.uri_with(no_verify=1)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "-c", uri])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_virsh_table_format() -> None:
    # virsh pool-list on a libvirtd host prints " Name      State    Autostart", 31 dashes
    assert table(("Name", "State", "Autostart"), [("default", "active", "yes")]).splitlines()[1] == "-" * 31
    assert table(("Name", "State", "Autostart"), [("LocalDS_0", "active", "yes")]) == (
        " Name        State    Autostart\n---------------------------------\n LocalDS_0   active   yes\n"
    )
    assert table(("Name", "Path"), []) == " Name   Path\n--------------\n"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0.00 B"),
        (1023, "1023.00 B"),
        (1024, "1.00 KiB"),
        (10 * 2**20, "10.00 MiB"),
        (3 * 2**40 // 2, "1.50 TiB"),
    ],
)
def test_pretty_capacity_as_virsh(value: int, text: str) -> None:
    assert pretty_capacity(value) == text


def test_pool_commands(esxnb, esx_sim: Simulator) -> None:
    code, out, err = esxnb("pool-list")
    assert code == 0, err
    assert out.splitlines()[2].split() == ["LocalDS_0", "active", "yes"] and out.endswith("\n\n")
    code, out, _ = esxnb("pool-list", "--details")
    assert out.splitlines()[0].split() == [
        "Name",
        "State",
        "Autostart",
        "Persistent",
        "Capacity",
        "Allocation",
        "Available",
    ]
    assert out.splitlines()[2].split()[:4] == ["LocalDS_0", "running", "yes", "yes"]
    code, out, _ = esxnb("pool-info", "LocalDS_0", "--bytes")
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    assert lines["Name"].strip() == "LocalDS_0" and lines["State"].strip() == "running"
    assert out.startswith("Name:           LocalDS_0\nUUID:           ")
    code, out, _ = esxnb("pool-dumpxml", "LocalDS_0")
    root = etree.fromstring(out)
    assert root.findtext("name") == "LocalDS_0" and root.findtext("uuid") == lines["UUID"].strip()
    assert int(root.findtext("capacity")) == int(lines["Capacity"])
    code, out, _ = esxnb("pool-refresh", "LocalDS_0")
    assert out == "Pool LocalDS_0 refreshed\n\n"


def test_volume_commands(esxnb) -> None:
    code, out, err = esxnb("vol-create-as", "LocalDS_0", "cli/a.vmdk", "10M", "--allocation", "0")
    assert (code, out) == (0, "Vol cli/a.vmdk created\n\n"), err
    code, out, _ = esxnb("vol-info", "[LocalDS_0] cli/a.vmdk", "--bytes")
    assert out.splitlines()[:3] == [
        "Name:           cli/a.vmdk",
        "Type:           file",
        "Capacity:       10485760 bytes",
    ]
    code, out, _ = esxnb("vol-clone", "cli/a.vmdk", "cli/b.vmdk", "--pool", "LocalDS_0")
    assert out == "Vol cli/b.vmdk cloned from cli/a.vmdk\n\n"
    code, out, _ = esxnb("vol-list", "LocalDS_0", "--details")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip()}
    assert rows["cli/b.vmdk"][1:5] == ["[LocalDS_0]", "cli/b.vmdk", "file", "10.00"]
    code, out, _ = esxnb("vol-dumpxml", "cli/b.vmdk", "--pool", "LocalDS_0")
    key = etree.fromstring(out).findtext("key")
    code, out, _ = esxnb("vol-info", key)  # by key, as virsh looks volumes up
    assert out.startswith("Name:           cli/b.vmdk\n")
    assert esxnb("vol-wipe", "cli/b.vmdk", "--pool", "LocalDS_0")[1] == "Vol cli/b.vmdk wiped\n\n"
    for name in ("cli/b.vmdk", "cli/a.vmdk"):
        assert esxnb("vol-delete", name, "--pool", "LocalDS_0")[1] == f"Vol {name} deleted\n\n"
    code, out, _ = esxnb("vol-list", "LocalDS_0")
    assert "cli/" not in out
    code, out, err = esxnb("vol-create-as", "LocalDS_0", "cli/c.vmdk", "10M", "--allocation", "5M")
    assert code == 1 and "capacity-to-allocation" in err


def test_used_volume_delete_fails_like_virsh(esxnb, esx_sim: Simulator) -> None:
    vm = esx_sim.vms()[0]["name"]
    code, out, err = esxnb("vol-delete", f"{vm}/disk1.vmdk", "--pool", "LocalDS_0")
    assert code == 1 and err.startswith("error: ") and f"disk of the VM {vm}" in err


def test_network_commands(esxnb, tmp_path: Path) -> None:
    xml = tmp_path / "net.xml"
    xml.write_text(
        "<network><name>cliSwitch</name><portgroup name='cli-pg'><vlan><tag id='42'/></vlan></portgroup></network>"
    )
    code, out, err = esxnb("net-define", str(xml))
    assert (code, out) == (0, f"Network cliSwitch defined from {xml}\n\n"), err
    code, out, _ = esxnb("net-list")
    assert [line.split() for line in out.splitlines()[2:] if line.strip()] == [
        ["cliSwitch", "active", "yes", "yes"],
        ["vSwitch0", "active", "yes", "yes"],
    ]
    code, out, _ = esxnb("net-dumpxml", "cliSwitch")
    root = etree.fromstring(out)
    assert root.find("portgroup/vlan/tag").get("id") == "42"
    code, out, _ = esxnb("net-info", "cliSwitch")
    assert f"UUID:           {root.findtext('uuid')}\n" in out and "Active:         yes\n" in out
    code, out, _ = esxnb("net-undefine", "cliSwitch")
    assert out == "Network cliSwitch has been undefined\n\n"
    assert "cliSwitch" not in esxnb("net-list")[1]


def test_interface_commands(esxnb) -> None:
    code, out, err = esxnb("iface-list")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    assert [r[:2] for r in rows] == [["vmnic0", "active"], ["vmnic1", "active"]]
    code, out, _ = esxnb("iface-dumpxml", "vmnic1")
    assert etree.fromstring(out).find("mac").get("address") == rows[1][2]
