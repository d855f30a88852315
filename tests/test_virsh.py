"""libvirt's own client, virsh 9.0 (Debian libvirt-clients, whose libvirt0 has the ESX driver built
in), against the embedded simulator, and esxnb agreeing with it on the same server.

Each check runs a virsh command and the same ``esxnb`` command (``esxnb -c URI VERB ...``) and
compares their output byte for byte where esxnb promises virsh's output, or compares what one
tool did with what the other sees. Known differences are written down where they are allowed,
with libvirt's source as the reference.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from esxnb.cli import main as esxnb_main
from esxnb.simulator import Simulator
from helpers import ESX_A_IP, ESX_B_IP, VC_IP, World, connect_to, migration_world

VIRSH = shutil.which("virsh")
pytestmark = [
    pytest.mark.simulator,
    pytest.mark.skipif(
        VIRSH is None, reason="virsh is missing: `make setup` installs Debian's libvirt-clients"
    ),
]


class Tools:
    """virsh and esxnb pointed at the same simulators with one libvirt auth.conf."""

    def __init__(self, home: Path, sims: dict[str, Simulator]) -> None:
        self.home = home
        sections = []
        for index, (host, sim) in enumerate(sims.items()):
            sections.append(f"[credentials-s{index}]\nusername={sim.username}\npassword={sim.password}\n")
            sections.append(f"[auth-esx-{host}]\ncredentials=s{index}\n")
        self.auth_file = home / "auth.conf"
        self.auth_file.write_text("\n".join(sections))
        self.env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LIBVIRT_AUTH_FILE": str(self.auth_file),
            "LC_ALL": "C",
        }

    def virsh(self, uri: str, *args: str, ok: bool = True) -> str:
        result = subprocess.run(
            [VIRSH, "-c", uri, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if ok:
            assert result.returncode == 0, f"virsh {' '.join(args)}: {result.stderr}"
        return result.stdout

    def esxnb(self, uri: str, *args: str) -> str:
        out = io.StringIO()
        with _environment(LIBVIRT_AUTH_FILE=str(self.auth_file)), contextlib.redirect_stdout(out):
            status = esxnb_main(["-c", uri, *args])
        assert status == 0, f"esxnb {' '.join(args)} exited {status}"
        return out.getvalue()


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _uri(sim: Simulator, **params: str) -> str:
    """The simulator's URI with its user name in it (neither tool then asks for one)."""
    scheme, rest = sim.uri_with(no_verify=1, **params).split("://", 1)
    return f"{scheme}://{sim.username}@{rest}"


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, Simulator]]:
    with Simulator("vpx", clusters=1, hosts=2, standalone_hosts=1, vms=2) as vpx:
        with Simulator("esx", vms=2, listen="127.0.0.5") as esx:
            yield {"vpx": vpx, "esx": esx}


@pytest.fixture(scope="module")
def tools(sims: dict[str, Simulator], tmp_path_factory: pytest.TempPathFactory) -> Tools:
    return Tools(tmp_path_factory.mktemp("virsh"), {sim.host: sim for sim in sims.values()})


@pytest.fixture(params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest, sims: dict[str, Simulator]) -> Simulator:
    return sims[request.param]


def _running(sim: Simulator, name: str) -> None:
    with connect_to(sim) as conn:
        domain = conn.domain(name)
        if domain.state != "running":
            domain.start()


def _names(tools: Tools, uri: str) -> list[str]:
    return tools.virsh(uri, "list", "--all", "--name").split()


# -- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("list", "--all"), ("list", "--all", "--name"), ("list",), ("list", "--state-shutoff"), ("hostname",)],
)
def test_listings_are_identical(tools: Tools, sim: Simulator, args: tuple[str, ...]) -> None:
    uri = _uri(sim)
    assert tools.esxnb(uri, *args) == tools.virsh(uri, *args)


def test_domains_are_the_ones_esxnb_sees(tools: Tools, sim: Simulator) -> None:
    uri = _uri(sim)
    with connect_to(sim) as conn:
        frame = conn.domains()
    assert sorted(_names(tools, uri)) == sorted(frame["name"])
    assert len(frame) >= 1


@pytest.mark.parametrize("verb", ["dominfo", "domstate", "domuuid", "domid", "dumpxml", "schedinfo"])
def test_per_domain_output_is_identical(tools: Tools, sim: Simulator, verb: str) -> None:
    uri = _uri(sim)
    for name in _names(tools, uri):
        assert tools.esxnb(uri, verb, name) == tools.virsh(uri, verb, name), f"{verb} {name}"


def test_a_domain_is_found_by_id_and_uuid_as_virsh_finds_it(tools: Tools, sim: Simulator) -> None:
    uri = _uri(sim)
    name = _names(tools, uri)[0]
    for key in (tools.virsh(uri, "domuuid", name).strip(), tools.virsh(uri, "domid", name).strip()):
        if key != "-":
            assert tools.esxnb(uri, "domname", key) == tools.virsh(uri, "domname", key)


def test_the_hypervisor_version_is_the_same(tools: Tools, sim: Simulator) -> None:
    uri = _uri(sim)
    line = re.compile(r"^Running hypervisor: .*$", re.M)
    assert line.findall(tools.esxnb(uri, "version")) == line.findall(tools.virsh(uri, "version"))


def test_plain_http_transport(tools: Tools, tmp_path: Path) -> None:
    with Simulator("esx", vms=1, transport="http", listen="127.0.0.6") as sim:
        http_tools = Tools(tmp_path, {sim.host: sim})
        uri = _uri(sim)
        assert "transport=http" in uri
        assert http_tools.esxnb(uri, "list", "--all") == http_tools.virsh(uri, "list", "--all")


# -- conversion ---------------------------------------------------------------------------------

VMX = """config.version = "8"
virtualHW.version = "7"
displayName = "{name}"
memsize = "256"
numvcpus = "1"
guestOS = "other"
scsi0.present = "TRUE"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "TRUE"
scsi0:0.deviceType = "scsi-hardDisk"
scsi0:0.fileName = "/vmfs/volumes/LocalDS_0/{name}/{name}.vmdk"
ethernet0.present = "TRUE"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "00:0c:29:aa:bb:cc"
"""


def test_online_conversion_is_identical(tools: Tools, sim: Simulator, tmp_path: Path) -> None:
    uri = _uri(sim)
    vmx = tmp_path / "a.vmx"
    vmx.write_text(VMX.format(name="conv"))
    from_virsh = tools.virsh(uri, "domxml-from-native", "vmware-vmx", str(vmx))
    assert "[LocalDS_0] conv/conv.vmdk" in from_virsh  # resolved against the server's datastores
    assert tools.esxnb(uri, "domxml-from-native", "vmware-vmx", str(vmx)) == from_virsh
    xml = tmp_path / "a.xml"
    xml.write_text(from_virsh)
    ours = tools.esxnb(uri, "domxml-to-native", "vmware-vmx", str(xml))
    theirs = tools.virsh(uri, "domxml-to-native", "vmware-vmx", str(xml))
    # One deliberate difference: libvirt takes virtualHW.version from a table that ends at ESX
    # 6.0 (esxVI_ProductVersionToDefaultVirtualHWVersion: 10 for every ESX 5.5 and later);
    # esxnb asks the server which version it creates VMs with (its environment browser).
    hw = re.compile(r'^virtualHW\.version = "(\d+)"$', re.M)
    assert hw.findall(theirs) == ["10"]
    with connect_to(sim) as conn:
        assert hw.findall(ours) == [str(conn.virtual_hw_version())]
    assert hw.sub("", ours) == hw.sub("", theirs)


# -- what one tool does, the other sees --------------------------------------------------------


def test_lifecycle_both_ways(tools: Tools, sim: Simulator) -> None:
    uri = _uri(sim)
    name = _names(tools, uri)[0]
    with connect_to(sim) as conn:
        domain = conn.domain(name)
        if domain.state != "running":
            domain.start()
        # esxnb acts, virsh sees; virsh acts, esxnb sees; each message is virsh's
        assert tools.esxnb(uri, "suspend", name) == f"Domain '{name}' suspended\n\n"
        assert tools.virsh(uri, "domstate", name) == "paused\n\n"
        assert tools.virsh(uri, "resume", name) == f"Domain '{name}' resumed\n\n"
        assert domain.state == "running"
        assert tools.virsh(uri, "destroy", name) == tools.esxnb(uri, "start", name).replace(
            "started", "destroyed"
        )
        assert domain.state == "running"  # esxnb's start came after virsh's destroy
        domain.destroy()
        assert tools.virsh(uri, "domstate", name) == "shut off\n\n"
        assert tools.virsh(uri, "start", name) == f"Domain '{name}' started\n\n"
        assert domain.state == "running"


def test_scheduler_changes_both_ways(tools: Tools, sim: Simulator) -> None:
    uri = _uri(sim)
    name = _names(tools, uri)[-1]
    with connect_to(sim) as conn:
        domain = conn.domain(name)
        before = domain.scheduler()
        try:
            out = tools.virsh(uri, "schedinfo", name, "--set", "shares=1234")
            assert out == tools.esxnb(uri, "schedinfo", name, "--set", "shares=1234")
            assert domain.scheduler()["shares"] == 1234
            domain.set_scheduler(reservation=10, shares=-3)
            assert "reservation    : 10\n" in tools.virsh(uri, "schedinfo", name)
            assert "shares         : -3\n" in tools.virsh(uri, "schedinfo", name)
        finally:
            domain.set_scheduler(**{k: before[k] for k in ("reservation", "limit", "shares")})


def test_define_and_undefine_both_ways(tools: Tools, sim: Simulator, tmp_path: Path) -> None:
    uri = _uri(sim)
    vmx = tmp_path / "d.vmx"
    xml = tmp_path / "d.xml"
    for name, definer, undefiner in (("by-virsh", "virsh", "esxnb"), ("by-esxnb", "esxnb", "virsh")):
        vmx.write_text(VMX.format(name=name))
        xml.write_text(tools.virsh(uri, "domxml-from-native", "vmware-vmx", str(vmx)))
        message = getattr(tools, definer)(uri, "define", str(xml))
        assert message == f"Domain '{name}' defined from {xml}\n\n"
        assert name in _names(tools, uri)
        with connect_to(sim) as conn:
            assert conn.domain(name).state == "shut off"
        assert tools.esxnb(uri, "dumpxml", name) == tools.virsh(uri, "dumpxml", name)
        assert getattr(tools, undefiner)(uri, "undefine", name) == f"Domain '{name}' has been undefined\n\n"
        assert name not in _names(tools, uri)


# -- storage, networks, interfaces -------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("pool-list", "--all"),
        ("pool-list", "--details"),
        ("pool-info", "LocalDS_0"),
        ("pool-dumpxml", "LocalDS_0"),
        ("vol-list", "LocalDS_0"),
        ("net-list", "--all"),
        ("net-dumpxml", "vSwitch0"),
    ],
)
def test_storage_and_network_output_is_identical(
    tools: Tools, sims: dict[str, Simulator], args: tuple[str, ...]
) -> None:
    uri = _uri(sims["esx"])
    assert tools.esxnb(uri, *args) == tools.virsh(uri, *args)


def test_interfaces(tools: Tools, sims: dict[str, Simulator]) -> None:
    uri = _uri(sims["esx"])
    with connect_to(sims["esx"]) as conn:
        nics = conn.interfaces()
    assert len(nics)
    # libvirt 9.0's esxInterfaceLookupByName looks the *name* up as a MAC address, so virsh's
    # iface-list (which looks each listed name up) shows nothing on any ESX server, and
    # iface-dumpxml works only with a MAC. esxnb finds both; the XML is the same.
    assert tools.virsh(uri, "iface-list", "--all").count("\n") == 3  # header, dashes, empty line
    for mac in nics["mac"]:
        assert tools.esxnb(uri, "iface-dumpxml", mac) == tools.virsh(uri, "iface-dumpxml", mac)


# -- migration, both URI styles of the spec -----------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with migration_world(Path(tmp_path_factory.mktemp("world"))) as built:
        yield built


def _world_tools(world: World, tmp_path: Path) -> Tools:
    return Tools(tmp_path, {VC_IP: world.vc, ESX_A_IP: world.esx_a, ESX_B_IP: world.esx_b})


def test_virsh_migrates_with_vpx_uris_and_esxnb_sees_it(world: World, tmp_path: Path) -> None:
    tools = _world_tools(world, tmp_path)
    source, target = "DC0_C0_H0", "DC0_C0_H1"
    name = world.vm_on(source)
    src = f"vpx://administrator@{VC_IP}:{world.port}/DC0/DC0_C0/{source}?no_verify=1"
    dst = f"vpx://administrator@{VC_IP}:{world.port}/DC0/DC0_C0/{target}?no_verify=1"
    tools.virsh(src, "migrate", name, dst)
    assert world.vms()[name]["host"] == target
    # and back with esxnb's virsh-style command line; virsh sees it on the source again
    tools.esxnb(dst, "migrate", name, src)
    assert world.vms()[name]["host"] == source
    assert name in tools.virsh(src, "list", "--all", "--name").split()


def test_virsh_migrates_between_esx_hosts_through_their_vcenter(world: World, tmp_path: Path) -> None:
    tools = _world_tools(world, tmp_path)
    name = world.vm_on("DC0_H0")
    # no user name in the URIs: libvirt would log into the vCenter with it too
    src = f"esx://{ESX_A_IP}:{world.port}/?no_verify=1&vcenter=*"
    dst = f"esx://{ESX_B_IP}:{world.port}/?no_verify=1&vcenter=*"
    tools.virsh(src, "migrate", name, dst)
    assert world.vms()[name]["host"] == "DC0_H1"
    tools.esxnb(dst, "migrate", name, src)
    assert world.vms()[name]["host"] == "DC0_H0"


# -- snapshots, autostart, vCPUs, node info, screenshots ----------------------------------------


def test_nodeinfo_is_identical(tools: Tools, sim: Simulator) -> None:
    uri = _uri(sim)
    assert tools.esxnb(uri, "nodeinfo") == tools.virsh(uri, "nodeinfo")


def test_snapshots_both_ways(tools: Tools, sim: Simulator) -> None:
    uri = _uri(sim)
    name = _names(tools, uri)[0]
    _running(sim, name)
    # virsh and esxnb take turns building one tree; every listing is then the same
    assert tools.virsh(uri, "snapshot-create-as", name, "Base", "first") == "Domain snapshot Base created\n"
    assert (
        tools.esxnb(uri, "snapshot-create-as", name, "disk", "--disk-only")
        == "Domain snapshot disk created\n"
    )
    tools.virsh(uri, "snapshot-create-as", name, "c3")
    assert tools.esxnb(uri, "snapshot-revert", name, "Base") == tools.virsh(
        uri, "snapshot-revert", name, "Base"
    )
    tools.esxnb(uri, "snapshot-create-as", name, "after")
    try:
        for args in (
            ("snapshot-list", name),
            ("snapshot-list", name, "--tree"),
            ("snapshot-list", name, "--parent"),
            ("snapshot-list", name, "--name"),
            ("snapshot-info", name, "disk"),
            ("snapshot-info", name, "--current"),
            ("snapshot-dumpxml", name, "c3"),
            ("snapshot-current", name),
            ("snapshot-current", name, "--name"),
        ):
            assert tools.esxnb(uri, *args) == tools.virsh(uri, *args), args
        assert tools.virsh(uri, "snapshot-revert", name, "disk") == "Domain snapshot disk reverted\n\n"
        with connect_to(sim) as conn:
            assert conn.domain(name).state == "shut off"  # a disk-only snapshot restores a VM that is off
    finally:
        assert (
            tools.esxnb(uri, "snapshot-delete", name, "Base", "--children")
            == "Domain snapshot Base deleted\n\n"  # as virsh words it
        )
    assert tools.virsh(uri, "snapshot-list", name, "--name") == "\n"


def test_autostart_and_vcpus_both_ways(tools: Tools, sim: Simulator) -> None:
    uri = _uri(sim)
    name = _names(tools, uri)[-1]
    assert tools.esxnb(uri, "autostart", name) == f"Domain '{name}' marked as autostarted\n\n"
    assert "Autostart:      enable\n" in tools.virsh(uri, "dominfo", name)
    assert tools.virsh(uri, "autostart", "--disable", name) == f"Domain '{name}' unmarked as autostarted\n\n"
    assert "Autostart:      disable\n" in tools.esxnb(uri, "dominfo", name)
    with connect_to(sim) as conn:
        domain = conn.domain(name)
        was = domain.state
        domain.destroy() if was != "shut off" else None
        vcpus = domain.vm.config.hardware.numCPU
        try:
            assert tools.esxnb(uri, "setvcpus", name, "2") == tools.virsh(uri, "setvcpus", name, "2") == "\n"
            assert "CPU(s):         2\n" in tools.virsh(uri, "dominfo", name)
        finally:
            domain.set_vcpus(vcpus)
            if was == "running":
                domain.start()


def test_screenshots_are_pngs_of_the_same_size(tools: Tools, sim: Simulator, tmp_path: Path) -> None:
    uri = _uri(sim)
    name = _names(tools, uri)[0]
    _running(sim, name)
    ours, theirs = tmp_path / "esxnb.png", tmp_path / "virsh.png"
    assert (
        tools.esxnb(uri, "screenshot", name, str(ours))
        == f"Screenshot saved to {ours}, with type of image/png\n"
    )
    assert tools.virsh(uri, "screenshot", name, str(theirs)).startswith(f"Screenshot saved to {theirs}")
    for png in (ours, theirs):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[16:24] == (640).to_bytes(4, "big") + (400).to_bytes(
            4, "big"
        )
