"""The simulator harness against pyvmomi: start, log in, TLS, .vmx files,
sessions, clean stop, scale, and the launcher's control API."""

from __future__ import annotations

import glob
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import VmomiSupport, vim, vmodl

from esxnb.errors import SimulatorError
from esxnb.simulator import Simulator, free_port_on
from esxnb.simulator import _build
from helpers import wait_until

pytestmark = pytest.mark.simulator


# -- helpers ------------------------------------------------------------------


def login(sim: Simulator, user: str | None = None, pwd: str | None = None, **kwargs) -> vim.ServiceInstance:
    args = dict(
        host=sim.host,
        port=sim.port,
        user=user or sim.username,
        pwd=sim.password if pwd is None else pwd,
        connectionPoolTimeout=-1,
    )
    if sim.transport == "http":
        args["protocol"] = "http"
    else:
        args["sslContext"] = kwargs.pop("sslContext", None) or sim.ssl_context()
    args.update(kwargs)
    return SmartConnect(**args)


@contextmanager
def session(sim: Simulator) -> Iterator[vim.ServiceInstance]:
    si = login(sim)
    try:
        yield si
    finally:
        Disconnect(si)


def all_vms(si: vim.ServiceInstance) -> list[vim.VirtualMachine]:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def vm_named(si: vim.ServiceInstance, name: str) -> vim.VirtualMachine:
    for vm in all_vms(si):
        if vm.name == name:
            return vm
    raise AssertionError(f"no VM {name}")


def wait_task(task: vim.Task, timeout: float = 10.0) -> vim.TaskInfo:
    """The task's info once it ended (polled for at most ``timeout`` s, a bound against hangs)."""
    wait_until(lambda: task.info.state not in ("queued", "running"), timeout, interval=0.05)
    info = task.info
    assert info.state not in ("queued", "running"), f"task {info.name} still {info.state}"
    return info


def wait_for(predicate, timeout: float = 5.0) -> None:
    assert wait_until(predicate, timeout, interval=0.05), "condition not reached in time"


def cookie(si: vim.ServiceInstance) -> str:
    return si._stub.cookie.split(";", 1)[0]


def folder_url(sim: Simulator, ds_path: str, dc_path: str) -> str:
    datastore, rel = ds_path[1:].split("] ", 1)
    base = sim.url.rsplit("/sdk", 1)[0]
    return f"{base}/folder/{quote(rel)}?dcPath={quote(dc_path)}&dsName={quote(datastore)}"


def http_open(
    sim: Simulator,
    url: str,
    *,
    cookie_value: str | None = None,
    data: bytes | None = None,
    method: str = "GET",
) -> tuple[int, bytes]:
    headers = {"Cookie": cookie_value} if cookie_value else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    context = sim.ssl_context() if sim.transport == "https" else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def dc_path_of(vm: vim.VirtualMachine) -> str:
    obj = vm.parent
    while not isinstance(obj, vim.Datacenter):
        obj = obj.parent
    return obj.name


def parse_vmx(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip().lower()] = value.strip().strip('"')
    return values


def vmx_uuid(value: str) -> str:
    hexa = value.replace(" ", "").replace("-", "")
    return f"{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:]}"


def download_vmx(sim: Simulator, si: vim.ServiceInstance, vm: vim.VirtualMachine) -> dict[str, str]:
    url = folder_url(sim, vm.config.files.vmPathName, dc_path_of(vm))
    status, body = http_open(sim, url, cookie_value=cookie(si))
    assert status == 200, body
    return parse_vmx(body.decode())


# -- phase 1: the harness --------------------------------------------------------


def test_both_modes_log_in(sim: Simulator) -> None:
    with session(sim) as si:
        about = si.content.about
        assert about.apiType == ("VirtualCenter" if sim.mode == "vpx" else "HostAgent")
        assert len(all_vms(si)) >= 2


def test_wrong_password_is_refused(sim: Simulator) -> None:
    with pytest.raises(vim.fault.InvalidLogin):
        login(sim, pwd=sim.password + "x")
    with pytest.raises(vim.fault.InvalidLogin):
        login(sim, user="someone-else")


def test_certificate_verification_fails_without_the_ca(sim: Simulator) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        login(sim, sslContext=ssl.create_default_context())
    # ...and succeeds with verification off, as no_verify=1 does.
    si = login(sim, sslContext=ssl._create_unverified_context())
    Disconnect(si)


def test_uri_and_properties(vpx_sim: Simulator, esx_sim: Simulator) -> None:
    assert vpx_sim.uri == f"vpx://127.0.0.1:{vpx_sim.port}/DC0/DC0_C0/DC0_C0_H0"
    assert esx_sim.uri == f"esx://127.0.0.1:{esx_sim.port}/"
    assert esx_sim.uri_with(no_verify=1) == f"esx://127.0.0.1:{esx_sim.port}/?no_verify=1"
    assert vpx_sim.url == f"https://127.0.0.1:{vpx_sim.port}/sdk"
    assert (vpx_sim.username, esx_sim.username) == ("administrator", "root")
    assert os.path.isfile(vpx_sim.ca_file)
    for s in (vpx_sim, esx_sim):
        assert s.password not in repr(s)
        assert "no_verify" not in s.uri


def test_vpx_path_names_a_real_host() -> None:
    with Simulator("vpx", datacenters=1, folders=1, clusters=1, hosts=1, vms=1) as sim:
        assert sim.vpx_path == "F0/DC0/F0/DC0_C0/DC0_C0_H0"
        with session(sim) as si:
            folder, dc, hfolder, cluster, host = sim.vpx_path.split("/")
            found = si.content.searchIndex.FindByInventoryPath(
                f"{folder}/{dc}/host/{hfolder}/{cluster}/{host}"
            )
            assert isinstance(found, vim.HostSystem) and found.name == host


def test_vmx_on_the_datastore_matches_the_vm(sim: Simulator) -> None:
    with session(sim) as si:
        for vm in all_vms(si)[:3]:
            vmx = download_vmx(sim, si, vm)
            cfg = vm.config
            assert vmx["displayname"] == vm.name
            assert int(vmx["memsize"]) == cfg.hardware.memoryMB
            assert int(vmx["numvcpus"]) == cfg.hardware.numCPU
            assert vmx_uuid(vmx["uuid.bios"]) == cfg.uuid
            assert vmx["guestos"] == "other"
            assert vmx["config.version"] == "8" and vmx["virtualhw.version"] == cfg.version.split("-")[1]
            disk = next(d for d in cfg.hardware.device if isinstance(d, vim.vm.device.VirtualDisk))
            assert vmx["scsi0:0.filename"] == disk.backing.fileName.rsplit("/", 1)[1]
            nic = next(d for d in cfg.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard))
            assert vmx["ethernet0.generatedaddress"] == nic.macAddress
            # The MAC's range decides, as on a real server: 0.24 generates ESX's 00:0c:29 MACs in
            # both modes (vCenter's own 00:50:56:80-bf ones are "vpx": tests/test_demo_estate.py).
            assert vmx["ethernet0.addresstype"] == "generated" and nic.macAddress.startswith("00:0c:29:")
            if sim.mode == "esx":
                assert vmx["ethernet0.networkname"] == nic.backing.deviceName
            else:
                assert vmx["ethernet0.dvs.portgroupid"] == nic.backing.port.portgroupKey
            assert vmx["sched.cpu.shares"] == cfg.cpuAllocation.shares.level
            # No two devices on one slot (the stock model puts the CD-ROM on scsi0:0).
            slots = [k.rsplit(".", 1)[0] for k in vmx if k.endswith(".present") and ":" in k]
            assert len(slots) == len(set(slots))


def test_vmx_follows_reconfigure(esx_sim: Simulator) -> None:
    with session(esx_sim) as si:
        vm = all_vms(si)[0]
        old_mem, old_cpu = vm.config.hardware.memoryMB, vm.config.hardware.numCPU
        spec = vim.vm.ConfigSpec(
            memoryMB=256,
            numCPUs=2,
            annotation='note "quoted" | piped',
            cpuAllocation=vim.ResourceAllocationInfo(reservation=100, limit=900),
        )
        try:
            assert wait_task(vm.ReconfigVM_Task(spec)).state == "success"
            vmx = download_vmx(esx_sim, si, vm)
            assert (vmx["memsize"], vmx["numvcpus"]) == ("256", "2")
            assert vmx["annotation"] == "note |22quoted|22 |7c piped"
            assert (vmx["sched.cpu.min"], vmx["sched.cpu.max"]) == ("100", "900")
        finally:
            restore = vim.vm.ConfigSpec(
                memoryMB=old_mem,
                numCPUs=old_cpu,
                annotation="",
                cpuAllocation=vim.ResourceAllocationInfo(reservation=0, limit=-1),
            )
            wait_task(vm.ReconfigVM_Task(restore))


def test_folder_needs_a_session_cookie(esx_sim: Simulator) -> None:
    with session(esx_sim) as si:
        vm = all_vms(si)[0]
        url = folder_url(esx_sim, vm.config.files.vmPathName, dc_path_of(vm))
        assert http_open(esx_sim, url)[0] == 401
        assert http_open(esx_sim, url, cookie_value="vmware_soap_session=forged")[0] == 401
        assert http_open(esx_sim, url, cookie_value=cookie(si))[0] == 200


def test_session_idle_timeout_expires_sessions() -> None:
    with Simulator("esx", vms=1, session_idle_timeout=0.5) as sim:
        si = login(sim)
        si.CurrentTime()
        time.sleep(1.6)
        with pytest.raises(vim.fault.NotAuthenticated):
            si.CurrentTime()


def test_stop_leaves_no_files() -> None:
    before = set(glob.glob("/tmp/govcsim-*"))
    sim = Simulator("vpx", vms=1).start()
    state_dir = sim.state_dir
    assert state_dir and glob.glob(f"{state_dir}/datastores/govcsim-*")
    pid = sim.pid
    sim.stop()
    assert not os.path.exists(state_dir)
    assert set(glob.glob("/tmp/govcsim-*")) <= before
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_launcher_exits_when_its_parent_goes_away() -> None:
    sim = Simulator("esx", vms=1).start()
    proc, state_dir = sim._proc, sim.state_dir
    proc.stdin.close()  # what the kernel does when the Python process dies
    proc.wait(timeout=10)
    assert not glob.glob(f"{state_dir}/datastores/*")
    sim.stop()


def test_vmx_of_a_created_vm(esx_sim: Simulator) -> None:
    with session(esx_sim) as si:
        dc = si.content.rootFolder.childEntity[0]
        host = all_hosts(si)[0]
        nic = vim.vm.device.VirtualDeviceSpec(
            operation="add",
            device=vim.vm.device.VirtualVmxnet3(
                key=-1, backing=vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName="VM Network")
            ),
        )
        spec = vim.vm.ConfigSpec(
            name="created-1",
            guestId="ubuntu64Guest",
            memoryMB=2048,
            numCPUs=4,
            files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
            deviceChange=[nic],
        )
        info = wait_task(dc.vmFolder.CreateVM_Task(config=spec, pool=host.parent.resourcePool, host=host))
        assert info.state == "success", info.error
        vm = info.result
        try:
            vmx = download_vmx(esx_sim, si, vm)
            assert (vmx["displayname"], vmx["memsize"], vmx["numvcpus"]) == ("created-1", "2048", "4")
            assert vmx["guestos"] == "ubuntu-64"
            assert vmx["ethernet0.virtualdev"] == "vmxnet3" and vmx["ethernet0.networkname"] == "VM Network"
            assert vmx_uuid(vmx["uuid.bios"]) == vm.config.uuid
        finally:
            wait_task(vm.Destroy_Task())


def test_http_transport() -> None:
    with Simulator("esx", vms=1, transport="http") as sim:
        assert sim.url.startswith("http://") and sim.ca_file is None
        assert sim.uri.endswith("/?transport=http")
        assert sim.uri_with(no_verify=1).endswith("/?transport=http&no_verify=1")
        with session(sim) as si:
            assert si.content.about.apiType == "HostAgent"


def test_start_failure_reports_the_launcher_log() -> None:
    port = free_port_on("127.0.0.1")
    with Simulator("esx", vms=0, port=port):
        with pytest.raises(SimulatorError, match=r"exited with status .*launcher log"):
            Simulator("esx", vms=0, port=port).start()


def test_missing_toolchain_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("ESXNB_GOPATH", str(tmp_path))
    with pytest.raises(SimulatorError, match=r"govmomi Go source is missing.*make setup.*golang-go"):
        _build.ensure_built()
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(_build.os, "access", lambda *_: False)
    with pytest.raises(SimulatorError, match=r"Go toolchain is missing.*make setup"):
        _build.ensure_built()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(SimulatorError, match="mode"):
        Simulator("gsx")
    with pytest.raises(SimulatorError, match="vms must be"):
        Simulator("vpx", vms=-1)
    with pytest.raises(SimulatorError, match="transport"):
        Simulator("esx", transport="ftp")


def test_command_line_runs_in_the_foreground() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "esxnb.simulator", "--mode", "esx", "--vms", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        assert "esx://127.0.0.1:" in text and "username: root" in text and "export ESXNB_URI=" in text
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0 and "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_ten_thousand_vms() -> None:
    started = time.monotonic()
    with Simulator("esx", vms=10_000, startup_timeout=400) as sim:
        ready = time.monotonic() - started
        with session(sim) as si:
            assert len(all_vms(si)) == 10_000
            vm = all_vms(si)[-1]
            assert download_vmx(sim, si, vm)["displayname"] == vm.name
    print(f"10,000 VMs ready after {ready:.1f} s")


# -- phase 2: the control API ---------------------------------------------------------


@pytest.fixture(scope="module")
def ctl_sim() -> Iterator[Simulator]:
    """A vCenter of our own: these tests change its behaviour."""
    with Simulator("vpx", clusters=1, hosts=2, standalone_hosts=1, vms=2, shutdown_delay=0.3) as sim:
        yield sim


@pytest.fixture
def ctl(ctl_sim: Simulator) -> Iterator[tuple[Simulator, vim.ServiceInstance]]:
    si = login(ctl_sim)
    try:
        yield ctl_sim, si
    finally:
        ctl_sim.reset()
        Disconnect(si)


def powered(vm: vim.VirtualMachine, state: str) -> None:
    if vm.runtime.powerState != state:
        task = vm.PowerOnVM_Task() if state == "poweredOn" else vm.PowerOffVM_Task()
        assert wait_task(task).state == "success"


def test_control_needs_the_token(ctl_sim: Simulator) -> None:
    request = urllib.request.Request(
        ctl_sim.url.replace("/sdk", "/esxnb/control"),
        data=b'{"op":"ping"}',
        method="POST",
        headers={"X-Esxnb-Token": "wrong"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, context=ctl_sim.ssl_context())
    assert caught.value.code == 403
    assert ctl_sim.control("ping") == {"mode": "vpx"}
    with pytest.raises(SimulatorError, match='no VM named "nope"'):
        ctl_sim.set_tools("nope", "toolsOk")
    with pytest.raises(SimulatorError, match="unknown fault type"):
        ctl_sim.inject_fault("PowerOnVM_Task", "NoSuchFault")


def test_tools_state_follows_power(ctl) -> None:
    sim, si = ctl
    vm = vm_named(si, "DC0_H0_VM0")
    powered(vm, "poweredOn")
    assert (vm.guest.toolsStatus, vm.guest.toolsRunningStatus) == ("toolsOk", "guestToolsRunning")
    assert vm.summary.guest.toolsStatus == "toolsOk"
    powered(vm, "poweredOff")
    assert vm.guest.toolsStatus == "toolsNotRunning"
    sim.set_tools("DC0_H0_VM0", "toolsNotInstalled")
    powered(vm, "poweredOn")
    assert (vm.guest.toolsStatus, vm.guest.toolsRunningStatus) == (
        "toolsNotInstalled",
        "guestToolsNotRunning",
    )
    sim.set_tools("DC0_H0_VM0", "toolsOk")
    assert vm.guest.toolsStatus == "toolsOk"


def test_guest_operations_need_tools(ctl) -> None:
    sim, si = ctl
    vm = vm_named(si, "DC0_H0_VM1")
    powered(vm, "poweredOn")
    for status in ("toolsNotInstalled", "toolsNotRunning"):
        sim.set_tools(vm.name, status)
        with pytest.raises(vim.fault.ToolsUnavailable):
            vm.ShutdownGuest()
        with pytest.raises(vim.fault.ToolsUnavailable):
            vm.RebootGuest()
    assert vm.runtime.powerState == "poweredOn"

    sim.set_tools(vm.name, "toolsOk")
    boot = vm.runtime.bootTime
    vm.RebootGuest()
    wait_for(lambda: vm.runtime.bootTime > boot)
    assert vm.runtime.powerState == "poweredOn"

    vm.ShutdownGuest()
    assert vm.runtime.powerState == "poweredOn"  # no task: it takes a moment
    wait_for(lambda: vm.runtime.powerState == "poweredOff")
    with pytest.raises(vim.fault.InvalidPowerState):
        vm.ShutdownGuest()


def test_question_blocks_power_on_until_answered(ctl) -> None:
    sim, si = ctl
    vm = vm_named(si, "DC0_C0_RP0_VM0")
    powered(vm, "poweredOff")
    sim.add_question(
        vm.name, "Did you move or copy it?", choices=[("1", "I moved it"), ("2", "I copied it")], default="2"
    )
    task = vm.PowerOnVM_Task()
    time.sleep(0.3)
    assert task.info.state == "running" and task.info.cancelable
    question = vm.runtime.question
    assert question.text == "Did you move or copy it?"
    assert [(c.key, c.label) for c in question.choice.choiceInfo] == [
        ("1", "I moved it"),
        ("2", "I copied it"),
    ]
    assert question.choice.defaultIndex == 1
    with pytest.raises(vmodl.fault.InvalidArgument):
        vm.AnswerVM(question.id, "9")
    vm.AnswerVM(question.id, "2")
    assert wait_task(task).state == "success"
    assert vm.runtime.question is None and vm.runtime.powerState == "poweredOn"
    # Only the next power-on asks.
    powered(vm, "poweredOff")
    powered(vm, "poweredOn")


def test_cancelling_a_question_task(ctl) -> None:
    sim, si = ctl
    vm = vm_named(si, "DC0_C0_RP0_VM1")
    powered(vm, "poweredOff")
    sim.add_question(vm.name, "Continue?")
    task = vm.PowerOnVM_Task()
    wait_for(lambda: vm.runtime.question is not None)
    task.CancelTask()
    info = wait_task(task)
    assert info.state == "error" and isinstance(info.error, vmodl.fault.RequestCanceled)
    assert vm.runtime.question is None and vm.runtime.powerState == "poweredOff"
    with pytest.raises(vim.fault.InvalidState):
        task.CancelTask()


def test_slow_task_reports_progress(ctl) -> None:
    sim, si = ctl
    vm = vm_named(si, "DC0_H0_VM0")
    powered(vm, "poweredOn")
    sim.set_task_behaviour("PowerOffVM_Task", duration=1.0, steps=4)
    task = vm.PowerOffVM_Task()
    seen = set()
    while task.info.state in ("queued", "running"):
        seen.add(task.info.progress)
        time.sleep(0.05)
    assert task.info.state == "success" and vm.runtime.powerState == "poweredOff"
    assert {25, 50, 75} & seen and len(seen) >= 3
    assert task.info.descriptionId == "VirtualMachine.powerOff"
    assert task.info.reason.userName == sim.username


def test_injected_faults_and_delays(ctl) -> None:
    sim, si = ctl
    vm = vm_named(si, "DC0_H0_VM1")
    powered(vm, "poweredOff")
    sim.inject_fault("PowerOnVM_Task", "InvalidState", "host in maintenance", count=1)
    with pytest.raises(vim.fault.InvalidState) as caught:
        vm.PowerOnVM_Task()
    assert "host in maintenance" in caught.value.msg
    powered(vm, "poweredOn")  # count=1: used up

    sim.inject_fault("PowerOffVM_Task", "NoDiskSpace", "datastore full", task=True)
    for _ in range(2):
        info = wait_task(vm.PowerOffVM_Task())
        assert info.state == "error" and isinstance(info.error, vim.fault.NoDiskSpace)
        assert info.error.msg == "datastore full"
    sim.clear_faults()
    powered(vm, "poweredOff")

    # a delay is seen as a client giving up: 2 s against a client that waits 0.5 s per request
    impatient = login(sim, httpConnectionTimeout=0.5)
    try:
        sim.set_delay("CurrentTime", 2.0)
        with pytest.raises(TimeoutError):
            impatient.CurrentTime()
        assert impatient.content.about.apiType == "VirtualCenter"  # only that method is slowed
        sim.clear_faults()
        assert impatient.CurrentTime() is not None  # answered within 0.5 s again
    finally:
        Disconnect(impatient)


def test_relocate_updates_host_and_pool_lists(ctl) -> None:
    sim, si = ctl
    vm = vm_named(si, "DC0_C0_RP0_VM0")
    source = vm.runtime.host
    target = next(h for h in source.parent.host if h != source)
    assert wait_task(vm.RelocateVM_Task(vim.vm.RelocateSpec(host=target))).state == "success"
    assert vm.runtime.host == target
    assert vm in target.vm and vm not in source.vm
    standalone = next(h for h in all_hosts(si) if h.name == "DC0_H0")
    spec = vim.vm.RelocateSpec(host=standalone, pool=standalone.parent.resourcePool)
    old_pool = vm.resourcePool
    assert wait_task(vm.RelocateVM_Task(spec)).state == "success"
    assert vm in standalone.vm and vm not in target.vm
    assert vm in standalone.parent.resourcePool.vm and vm not in old_pool.vm


def all_hosts(si: vim.ServiceInstance) -> list[vim.HostSystem]:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


REGISTERED_VMX = """\
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "14"
displayName = "registered-1"
guestOS = "rhel7-64"
memsize = "512"
numvcpus = "2"
uuid.bios = "42 1a 61 77 5a a9 ab b7-59 24 fc 37 6c 18 a1 b4"
annotation = "first line|0Asecond |22line|22"
scsi0.present = "TRUE"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "registered-1.vmdk"
ethernet0.present = "TRUE"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "generated"
ethernet0.generatedAddress = "00:0c:29:11:22:33"
custom.key = "kept"
"""


def test_register_vm_reads_the_vmx(esx_sim: Simulator) -> None:
    with session(esx_sim) as si:
        dc = si.content.rootFolder.childEntity[0]
        url = folder_url(esx_sim, "[LocalDS_0] registered-1/registered-1.vmx", dc.name)
        status, _ = http_open(
            esx_sim, url, cookie_value=cookie(si), data=REGISTERED_VMX.encode(), method="PUT"
        )
        assert status in (200, 201)
        host = all_hosts(si)[0]
        task = dc.vmFolder.RegisterVM_Task(
            path="[LocalDS_0] registered-1/registered-1.vmx",
            asTemplate=False,
            pool=host.parent.resourcePool,
            host=host,
        )
        info = wait_task(task)
        assert info.state == "success", info.error
        vm = info.result
        try:
            assert vm.name == "registered-1"
            assert (vm.config.hardware.memoryMB, vm.config.hardware.numCPU) == (512, 2)
            assert vm.config.guestId == "rhel7_64Guest"
            assert vm.config.uuid == "421a6177-5aa9-abb7-5924-fc376c18a1b4"
            assert vm.config.annotation == 'first line\nsecond "line"'
            assert vm.config.version == "vmx-14"
            # The file stays the client's own...
            assert http_open(esx_sim, url, cookie_value=cookie(si))[1].decode() == REGISTERED_VMX
            # ...and a reconfiguration changes only what it changed.
            assert wait_task(vm.ReconfigVM_Task(vim.vm.ConfigSpec(memoryMB=1024))).state == "success"
            text = http_open(esx_sim, url, cookie_value=cookie(si))[1].decode()
            assert text == REGISTERED_VMX.replace('memsize = "512"', 'memsize = "1024"')
        finally:
            vm.UnregisterVM()


def test_vcenter_managing_an_esx_host() -> None:
    vc_ip, esx_ip = "127.0.0.3", "127.0.0.2"
    port = free_port_on(vc_ip, esx_ip)
    with Simulator("vpx", listen=vc_ip, port=port, clusters=1, hosts=1, standalone_hosts=0, vms=3) as vc:
        with Simulator("esx", listen=esx_ip, managed_by=vc, host_name="DC0_C0_H0") as esx:
            assert (esx.port, esx.host, vc.host) == (port, esx_ip, vc_ip)
            with session(esx) as si:
                host = all_hosts(si)[0]
                assert host.summary.managementServerIp == vc_ip
                assert host.name == "DC0_C0_H0"
                esx_vms = {
                    vm.name: (vm.config.uuid, vm.config.hardware.memoryMB, vm.config.hardware.numCPU)
                    for vm in all_vms(si)
                }
            with session(vc) as vsi:
                found = vsi.content.searchIndex.FindByIp(ip=esx_ip, vmSearch=False)
                assert found is not None and found.name == "DC0_C0_H0"
                vc_vms = {
                    vm.name: (vm.config.uuid, vm.config.hardware.memoryMB, vm.config.hardware.numCPU)
                    for vm in found.vm
                }
            assert esx_vms == vc_vms and len(esx_vms) == 3


def test_nothing_left_when_the_python_process_dies() -> None:
    script = (
        "import os, sys\n"
        "from esxnb.simulator import Simulator\n"
        "sim = Simulator('esx', vms=1).start()\n"
        "print(sim.state_dir, flush=True)\n"
        "os._exit(0) if sys.argv[1] == 'kill' else None\n"
    )
    for how in ("kill", "exit"):
        out = subprocess.run([sys.executable, "-c", script, how], capture_output=True, text=True, timeout=60)
        state_dir = out.stdout.strip()
        assert state_dir.startswith("/"), out.stderr
        wait_for(lambda: not os.path.exists(state_dir), timeout=10)


# -- multi-datacenter inventories, injected faults, live container views ------------


def test_each_datacenter_has_its_own_datastores() -> None:
    # Every datacenter has a datastore called LocalDS_0: each VM's .vmx goes to its own.
    with Simulator("vpx", datacenters=2, clusters=1, hosts=1, standalone_hosts=1, vms=1) as sim:
        with session(sim) as si:
            vms = all_vms(si)
            assert len(vms) == sim.total_vms() == 4
            assert sorted(dc_path_of(vm) for vm in vms) == ["DC0", "DC0", "DC1", "DC1"]
            for vm in vms:
                vmx = download_vmx(sim, si, vm)
                assert (vmx["displayname"], vmx_uuid(vmx["uuid.bios"])) == (vm.name, vm.config.uuid)
            dc1 = next(dc for dc in si.content.rootFolder.childEntity if dc.name == "DC1")
            host = next(h for h in all_hosts(si) if h.name == "DC1_H0")
            spec = vim.vm.ConfigSpec(
                name="dc1-new",
                guestId="otherGuest",
                memoryMB=64,
                numCPUs=1,
                files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
            )
            info = wait_task(
                dc1.vmFolder.CreateVM_Task(config=spec, pool=host.parent.resourcePool, host=host)
            )
            assert info.state == "success", info.error
            assert download_vmx(sim, si, info.result)["displayname"] == "dc1-new"


def method_faults(si: vim.ServiceInstance) -> dict[str, type]:
    """Every fault type pyvmomi knows in this session's API version, by WSDL name."""
    version = si._stub.version
    found = {}
    for (ns, name), definition in list(VmomiSupport._wsdlDefMap.items()):
        if ns != "urn:vim25":
            continue
        cls = VmomiSupport.GetWsdlType(ns, name)
        # A fault's definition: (vmodl name, WSDL name, parent, version, properties).
        if (
            isinstance(cls, type)
            and issubclass(cls, vmodl.MethodFault)
            and VmomiSupport.IsChildVersion(version, definition[3])
        ):
            found[name] = cls
    return found


def retrieve_name(si: vim.ServiceInstance, obj: vmodl.ManagedObject) -> list:
    pc = si.content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=obj)],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=type(obj), pathSet=["name"])],
    )
    return pc.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions()).objects


def test_injected_faults_are_complete(ctl) -> None:
    sim, si = ctl
    with pytest.raises(vim.fault.NotAuthenticated) as caught:
        sim.inject_fault(
            "RetrievePropertiesEx", "NotAuthenticated", "The session is not authenticated.", count=1
        )
        retrieve_name(si, si.content.rootFolder)
    assert caught.value.msg == "The session is not authenticated."
    assert caught.value.object == si.content.sessionManager and caught.value.privilegeId == "System.View"
    assert retrieve_name(si, si.content.rootFolder)  # count=1: used up

    vm = vm_named(si, "DC0_H0_VM0")
    powered(vm, "poweredOn")
    sim.inject_fault("PowerOnVM_Task", "InvalidPowerState", "already on", count=1)
    with pytest.raises(vim.fault.InvalidPowerState) as caught:
        vm.PowerOnVM_Task()
    assert (caught.value.requestedState, caught.value.existingState) == ("poweredOff", "poweredOn")
    sim.inject_fault("PowerOnVM_Task", "InvalidPowerState", "already on", count=1, task=True)
    error = wait_task(vm.PowerOnVM_Task()).error
    assert isinstance(error, vim.fault.InvalidPowerState) and error.existingState == "poweredOn"

    sim.inject_fault("PowerOnVM_Task", "TaskInProgress", "busy", count=1)
    with pytest.raises(vim.fault.TaskInProgress) as caught:
        vm.PowerOnVM_Task()
    assert isinstance(caught.value.task, vim.Task)


def test_every_injectable_fault_decodes(ctl) -> None:
    sim, si = ctl
    vm = vm_named(si, "DC0_H0_VM1")
    refused, wrong = [], []
    faults = method_faults(si)
    assert len(faults) > 600
    for name, cls in faults.items():
        try:
            sim.inject_fault("CurrentTime", name, f"call {name}", count=1)
        except SimulatorError as exc:
            assert "unknown fault type" in str(exc) or "is not a fault type" in str(exc), exc
            refused.append(name)
            continue
        sim.inject_fault("PowerOnVM_Task", name, f"task {name}", count=1, task=True)
        try:
            si.CurrentTime()
            wrong.append(f"{name}: no fault")
        except vmodl.MethodFault as exc:
            if type(exc) is not cls or exc.msg != f"call {name}":
                wrong.append(f"{name}: got {type(exc).__name__} {exc.msg!r}")
        error = wait_task(vm.PowerOnVM_Task()).error
        if type(error) is not cls or error.msg != f"task {name}":
            wrong.append(f"{name} (task): got {type(error).__name__} {getattr(error, 'msg', '')!r}")
    assert not wrong
    # govmomi 0.24 lacks only a few types pyvmomi knows (LocalizedMethodFault is no fault).
    assert len(refused) < 10, refused


def test_container_views_follow_the_inventory(ctl) -> None:
    sim, si = ctl
    views = si.content.viewManager
    vm = vm_named(si, "DC0_C0_RP0_VM1")
    powered(vm, "poweredOff")  # to unregister it
    source = vm.runtime.host
    target = next(h for h in source.parent.host if h != source)
    on_source = views.CreateContainerView(source, [vim.VirtualMachine], False)
    on_target = views.CreateContainerView(target, [vim.VirtualMachine], False)
    on_cluster = views.CreateContainerView(source.parent, [vim.VirtualMachine], True)
    on_pool = views.CreateContainerView(source.parent.resourcePool, [vim.VirtualMachine], False)
    try:
        assert vm in on_source.view and vm not in on_target.view
        assert wait_task(vm.RelocateVM_Task(vim.vm.RelocateSpec(host=target))).state == "success"
        assert vm not in on_source.view and vm in on_target.view
        assert list(on_cluster.view).count(vm) == 1

        dc = si.content.rootFolder.childEntity[0]
        path, name = vm.config.files.vmPathName, vm.name
        vm.UnregisterVM()
        assert vm not in on_target.view and vm not in on_cluster.view and vm not in on_pool.view
        info = wait_task(
            dc.vmFolder.RegisterVM_Task(
                path=path, name=name, asTemplate=False, pool=target.parent.resourcePool, host=target
            )
        )
        assert info.state == "success", info.error
        vm = info.result
        assert vm in on_target.view and vm in on_cluster.view and vm in on_pool.view

        standalone = next(h for h in all_hosts(si) if h.name == "DC0_H0")
        spec = vim.vm.RelocateSpec(host=standalone, pool=standalone.parent.resourcePool)
        assert wait_task(vm.RelocateVM_Task(spec)).state == "success"
        assert vm not in on_target.view and vm not in on_cluster.view and vm not in on_pool.view

        spec = vim.vm.ConfigSpec(
            name="view-created",
            guestId="otherGuest",
            memoryMB=64,
            numCPUs=1,
            files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
        )
        info = wait_task(dc.vmFolder.CreateVM_Task(config=spec, pool=target.parent.resourcePool, host=target))
        assert info.state == "success", info.error
        created = info.result
        assert created in on_target.view and created in on_cluster.view
        assert wait_task(created.Destroy_Task()).state == "success"
        assert created not in on_target.view and created not in on_cluster.view
    finally:
        for view in (on_source, on_target, on_cluster, on_pool):
            view.Destroy()
