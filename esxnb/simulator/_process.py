"""The ``Simulator`` process handle."""

from __future__ import annotations

import atexit
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from esxnb.errors import SimulatorError

from ._build import ensure_built
from ._control import SimulatorControl

TOOLS_STATES = ("toolsOk", "toolsOld", "toolsNotRunning", "toolsNotInstalled")
ESTATES = ("demo",)
DEMO_VMS = 300

# The demo estate's fixed topology (the launcher's estate.go), as the
# inventory knobs would count it.
_DEMO_COUNTS = dict(datacenters=2, folders=0, clusters=2, hosts=4, standalone_hosts=1, pools=0, datastores=1)
_PLAIN_DEFAULTS = dict(
    datacenters=1, folders=0, clusters=1, hosts=3, standalone_hosts=1, pools=0, datastores=1
)

# Simulators still running when the interpreter exits are stopped then, so
# their state directories go too (a killed interpreter is covered by the
# launcher itself: it exits and cleans up when its stdin closes).
_running: weakref.WeakSet[Simulator] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for sim in list(_running):
        try:
            sim.stop(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def free_port_on(*addresses: str, attempts: int = 50) -> int:
    """A TCP port that is free on every one of ``addresses`` (default 127.0.0.1).

    Loopback addresses 127.0.0.2, 127.0.0.3... work on Linux without set-up,
    so an ESX simulator and its vCenter can share a port on two addresses.
    """
    addresses = addresses or ("127.0.0.1",)
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as first:
            first.bind((addresses[0], 0))
            port = first.getsockname()[1]
            ok = True
            for address in addresses[1:]:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
                    try:
                        other.bind((address, port))
                    except OSError:
                        ok = False
                        break
            if ok:
                return port
    raise SimulatorError(f"no TCP port free on all of {', '.join(addresses)} after {attempts} attempts")


class Simulator(SimulatorControl):
    """A govmomi vSphere simulator (vCenter or ESX host) in a child process.

    ``Simulator(mode)`` is a context manager; ``start()``/``stop()`` work too.
    Inventory knobs (``datacenters``, ``folders``, ``clusters``, ``hosts`` per
    cluster, ``standalone_hosts``, ``vms`` per host or resource pool as govmomi
    counts them, ``pools``, ``datastores``) apply to vpx mode; esx mode uses
    ``vms`` and ``datastores``. Only ``username``/``password`` log in (default
    user ``root`` for esx, ``administrator`` for vpx; random password).

    TLS uses a CA generated at start (``ca_file``), so verification fails
    unless the client trusts that file or uses ``no_verify=1``.

    Every VM's ``.vmx`` on its datastore matches the VM; VMware tools are
    ``toolsOk`` on every VM unless ``tools=`` or :meth:`set_tools` says
    otherwise (tools only run while the VM is powered on).

    ``estate="demo"`` (with ``seed=`` and ``vms=`` VMs in all, default 300)
    builds a believable vCenter instead of govmomi's identical VMs, the same
    for the same seed: datacenters ``dc-ams`` and ``dc-fra``; clusters
    ``ams-prod``, ``ams-dev``, ``fra-prod``, ``fra-dr`` with different
    hardware, ESXi versions and HA/DRS settings; a standalone host per
    datacenter; one host in maintenance mode and one disconnected; resource
    pools with reservations, limits and shares; VMFS and NFS datastores at
    different fill levels (``ams-prod-vmfs02`` above 90 %) holding orphaned
    ``.vmdk`` files; standard (``VM Network``, ``Backup``) and distributed
    VLAN port groups; VM folders; and VMs spread over 20+ guest OS ids,
    512 MiB-256 GiB, 1-32 vCPUs (cores per socket), power states, templates,
    hardware versions 11-20, BIOS/EFI, annotations, 1-6 thin/thick/
    eager-zeroed disks on LSI Logic, LSI SAS, PVSCSI and BusLogic controllers,
    1-4 vmxnet3/e1000/e1000e/vlance NICs with MACs in each of VMware's ranges
    and outside them (``checkMACAddress = "FALSE"`` in their ``.vmx``),
    connected ISOs and disconnected CD-ROMs, snapshot trees dated over the
    past year, tools states (ok, old, not running, not installed), CPU and
    memory allocations, custom attributes (Owner, CostCenter, Application,
    BackupPolicy; Rack on hosts), guest host names, IPs and file systems
    reported by running tools, and CPU/memory usage figures. :attr:`vpx_path`
    is ``dc-ams/ams-prod/esx-ams-p01.lab.example``. What govmomi 0.24's
    objects cannot hold: guest ids newer than 0.24 have no guest descriptor;
    datastores have no LUN objects behind their VMFS extents; hosts have
    no HBAs, licenses or NTP/DNS settings beyond the stock ones; the stock
    ``LocalDS_0`` (type OTHER, empty) stays in each datacenter.

    Control API (the launcher's ``POST /esxnb/control``, token-guarded):

    - :meth:`set_tools` ``(vm, status)``: toolsOk, toolsNotRunning,
      toolsNotInstalled. ShutdownGuest/RebootGuest/StandbyGuest fail with
      ``ToolsUnavailable`` unless tools run; ShutdownGuest powers the VM off
      after ``shutdown_delay`` seconds (no task: wait for the power state).
    - :meth:`add_question` ``(vm, text, choices, default, on)``: the next
      ``on`` task (PowerOnVM_Task) of that VM stays running with
      ``runtime.question`` set until ``AnswerVM`` (then the operation runs) or
      ``CancelTask`` (task fails with RequestCanceled, question cleared).
    - :meth:`set_task_behaviour` ``(method, duration, steps)``: tasks of that
      method run for ``duration`` seconds, ``info.progress`` rising in
      ``steps``, cancellable until the work starts.
    - :meth:`inject_fault` ``(method, fault, message, task, count)``,
      :meth:`set_delay` ``(method or "*", seconds)``, :meth:`clear_faults`.
    - :meth:`set_host_ip`, :meth:`set_management_server`, :meth:`vms`.
    - :meth:`restrict_property` ``(object, path, fault)``: that property (and
      the paths below it) of that VM or other object comes back as a
      ``missingSet`` entry with a NoPermission fault, as for an account
      without the privilege; :meth:`clear_restrictions`.
    - :meth:`expire_tokens`: forget the paging tokens of unfinished
      retrievals (RetrievePropertiesEx honours ``maxObjects``, and, as vCenter,
      retrieves each later page only when ContinueRetrievePropertiesEx asks for it).

    ``managed_by=<vpx Simulator>`` with ``host_name=`` makes an ESX simulator
    whose host reports the vCenter's address as ``summary.managementServerIp``
    and shows that host's VMs (names, UUIDs, memory, CPUs, power), following
    the vCenter as it moves, creates or removes them; the
    vCenter is told the host's IP so ``SearchIndex.FindByIp`` finds it. Give
    both the same port on two loopback addresses (see :func:`free_port_on`);
    by default the ESX one takes the vCenter's port and transport.

    Injected faults carry what a real server puts in them (NotAuthenticated:
    the session manager and ``System.View``; InvalidPowerState: the VM's
    power state and the one the method needs; a fault's task, host, VM...
    properties name real objects), so pyvmomi decodes every one of them.

    Also: ``/folder`` needs a session cookie (401 otherwise), RegisterVM_Task
    applies the ``.vmx``, RelocateVM_Task updates ``host.vm``/``pool.vm``,
    ContainerViews stay live when VMs are created, registered, moved or
    removed, and multi-datacenter inventories keep each VM's files in its
    own datacenter's datastore.

    Storage and networking as a real host keeps them (issue 16): virtual
    disks are VMware descriptors plus flat extents, so CreateVirtualDisk_Task,
    CopyVirtualDisk_Task, DeleteVirtualDisk_Task, ZeroFillVirtualDisk_Task
    and Query/SetVirtualDiskUuid read back what was written (capacity,
    thin/thick, adapter, ``ddb.uuid``; FileLocked for disks of powered-on
    VMs); datastore searches match everything with an empty pattern and fill
    VmDiskFileInfo; datastores have ``/vmfs/volumes/<name>`` mount paths and
    answer RefreshDatastore; HostNetworkSystem's vSwitch and port group calls
    change ``host.config.network`` (uplinks, MTU, VLANs, shaping, shared
    Network objects) and refuse port groups in use (ResourceInUse);
    FetchDVPorts answers as a vCenter does (0.24: a bogus port per port group,
    keys "0".."N-1" again in every port group, no port group, connectee or
    runtime state, criteria ignored): ports numbered uniquely per switch, each
    with its port group, default settings, the VM NIC bound to it (every demo
    estate NIC is) with link state and MAC, and the port group / connected /
    port key criteria honoured. The
    launcher's own virtual disk calls honour :meth:`set_task_behaviour` too.

    What libvirt's own client (virsh) needs, as real servers do it: array
    items carry ``xsi:type``; a handler that fails answers (an unset
    property such as the root folder's parent is no value) instead of
    dropping the connection; hosts report ``capability``; every mounting
    host is in ``datastore.host``; ValidateMigration and MigrateVM_Task
    exist; ``/folder`` and ``/screen`` accept basic authentication. Domain
    features: snapshot reverts restore power state and configuration (a
    disk-only snapshot restores a powered-off VM), each host has a
    HostAutoStartManager, CreateScreenshot_Task and ``/screen`` render the
    console as a PNG. What govmomi 0.24 lacks or gets wrong and how the
    launcher fixes it is listed in the launcher's ``main.go``.
    """

    def __init__(
        self,
        mode: str = "vpx",
        *,
        datacenters: int = 1,
        folders: int = 0,
        clusters: int = 1,
        hosts: int = 3,
        standalone_hosts: int = 1,
        vms: int | None = None,
        pools: int = 0,
        datastores: int = 1,
        username: str | None = None,
        password: str | None = None,
        transport: str | None = None,
        listen: str = "127.0.0.1",
        port: int | None = None,
        session_idle_timeout: float | None = None,
        startup_timeout: float | None = None,
        tools: str = "toolsOk",
        shutdown_delay: float = 0.5,
        management_server_ip: str | None = None,
        managed_by: Simulator | None = None,
        host_name: str | None = None,
        estate: str | None = None,
        seed: int = 0,
    ) -> None:
        if mode not in ("vpx", "esx"):
            raise SimulatorError(f"mode must be 'vpx' or 'esx', not {mode!r}")
        if managed_by is not None:
            if mode != "esx":
                raise SimulatorError("managed_by= needs mode='esx' (an ESX host managed by a vCenter)")
            if managed_by.mode != "vpx" or not managed_by.running:
                raise SimulatorError("managed_by= must be a running vpx Simulator")
            if not host_name:
                raise SimulatorError(
                    "managed_by= needs host_name=, the host's name in the vCenter (e.g. DC0_C0_H0)"
                )
            transport = transport or managed_by.transport
            port = managed_by.port if port is None else port
        transport = transport or "https"
        if transport not in ("https", "http"):
            raise SimulatorError(f"transport must be 'https' or 'http', not {transport!r}")
        if tools not in TOOLS_STATES:
            raise SimulatorError(f"tools must be one of {', '.join(TOOLS_STATES)}, not {tools!r}")
        topology = dict(
            datacenters=datacenters,
            folders=folders,
            clusters=clusters,
            hosts=hosts,
            standalone_hosts=standalone_hosts,
            pools=pools,
            datastores=datastores,
        )
        if estate is not None:
            if estate not in ESTATES:
                raise SimulatorError(f"estate must be one of {', '.join(ESTATES)} or None, not {estate!r}")
            if mode != "vpx" or managed_by is not None:
                raise SimulatorError("estate='demo' is a vCenter estate: use mode='vpx' without managed_by=")
            changed = [k for k, v in topology.items() if v != _PLAIN_DEFAULTS[k]]
            if changed:
                raise SimulatorError(
                    f"estate='demo' has its own topology; do not pass {', '.join(changed)} (vms= sizes it)"
                )
            if not isinstance(seed, int) or isinstance(seed, bool):
                raise SimulatorError(f"seed must be an integer, not {seed!r}")
            topology = dict(_DEMO_COUNTS)
        if vms is None:
            vms = DEMO_VMS if estate else 2
        if estate and (not isinstance(vms, int) or vms < 1):
            raise SimulatorError(
                f"vms must be an integer >= 1 for estate='demo' (the VMs in all), not {vms!r}"
            )
        counts = dict(topology, vms=vms)
        for name, value in counts.items():
            if not isinstance(value, int) or value < 0:
                raise SimulatorError(f"{name} must be an integer >= 0, not {value!r}")
        if datastores < 1:
            raise SimulatorError("datastores must be at least 1 (VMs live on LocalDS_0)")
        if session_idle_timeout is not None and session_idle_timeout <= 0:
            raise SimulatorError(f"session_idle_timeout must be > 0 seconds, not {session_idle_timeout!r}")
        self.mode = mode
        self.estate = estate
        self.seed = seed
        self.counts = counts
        self.transport = transport
        self.listen = listen
        self._want_port = port or 0
        self.username = username or ("root" if mode == "esx" else "administrator")
        self._password = password if password is not None else secrets.token_urlsafe(12)
        self.session_idle_timeout = session_idle_timeout
        self.tools = tools
        self.shutdown_delay = shutdown_delay
        self.management_server_ip = management_server_ip
        self.managed_by = managed_by
        self.host_name = host_name
        # About 7-60 s per 10,000 VMs on 2 busy cores (file creation dominates).
        self.startup_timeout = startup_timeout or max(60.0, self.total_vms() / 50.0)
        self._token = secrets.token_hex(16)
        self._proc: subprocess.Popen[bytes] | None = None
        self._state_dir: str | None = None
        self._ready: dict[str, Any] = {}
        self._attached = False

    # -- properties -----------------------------------------------------

    @property
    def password(self) -> str:
        return self._password

    @property
    def running(self) -> bool:
        if self._attached:
            return bool(self._ready)
        return self._proc is not None and self._proc.poll() is None

    @property
    def attached(self) -> bool:
        """True for a handle on a simulator another process started (see :func:`attach`):
        its control API works, ``stop()`` only lets go of it."""
        return self._attached

    def _need(self, key: str) -> Any:
        if not self._ready:
            raise SimulatorError("the simulator is not running: call start() or use it as a context manager")
        return self._ready[key]

    @property
    def host(self) -> str:
        return self._need("host")

    @property
    def port(self) -> int:
        return self._need("port")

    @property
    def url(self) -> str:
        """The SDK endpoint, e.g. ``https://127.0.0.1:PORT/sdk``."""
        return self._need("url")

    @property
    def ca_file(self) -> str | None:
        """PEM file of the CA that signed the server certificate (None for http)."""
        return self._need("ca_file") or None

    @property
    def state_dir(self) -> str | None:
        return self._state_dir

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def total_vms(self) -> int:
        """How many VMs govmomi creates for these knobs."""
        c = self.counts
        if self.managed_by is not None:
            return 0
        if self.mode == "esx" or self.estate:
            return c["vms"]
        return c["datacenters"] * c["vms"] * (c["standalone_hosts"] + c["clusters"])

    @property
    def vpx_path(self) -> str:
        """Inventory path of a host, as in ``vpx://server/PATH``: the first
        cluster's first host, else the first standalone host."""
        c = self.counts
        if self.estate == "demo":
            return "dc-ams/ams-prod/esx-ams-p01.lab.example"
        if c["datacenters"] < 1:
            raise SimulatorError("this inventory has no datacenter")
        # govmomi puts the *last* `folders` datacenters into folders F0, F1...
        in_folder = c["folders"] > 0 and 0 >= c["datacenters"] - c["folders"]
        prefix = "F0/" if in_folder else ""
        if c["clusters"] > 0 and c["hosts"] > 0:
            return f"{prefix}DC0/{prefix}DC0_C0/DC0_C0_H0"
        if c["standalone_hosts"] > 0:
            return f"{prefix}DC0/{prefix}DC0_H0"
        raise SimulatorError("this inventory has no host")

    @property
    def uri(self) -> str:
        """An ``esx://`` or ``vpx://`` URI reaching this simulator (TLS verified:
        add ``no_verify=1`` with :meth:`uri_with` or trust :attr:`ca_file`)."""
        return self.uri_with()

    def uri_with(self, **params: Any) -> str:
        """:attr:`uri` with extra parameters, e.g. ``uri_with(no_verify=1)``."""
        query: dict[str, Any] = {}
        if self.transport == "http":
            query["transport"] = "http"
        query.update({k: v for k, v in params.items() if v is not None})
        host = self.host if ":" not in self.host else f"[{self.host}]"
        path = "" if self.mode == "esx" else quote(self.vpx_path, safe="/")
        text = f"{self.mode}://{host}:{self.port}/{path}"
        if query:
            text += "?" + urlencode(query)
        return text

    def __repr__(self) -> str:
        where = self._ready.get("url", "not started")
        state = "running" if self.running else "stopped"
        return f"<Simulator {self.mode} {where} user={self.username!r} {state}>"

    def ssl_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts this simulator's CA."""
        if not self.ca_file:
            raise SimulatorError("this simulator serves plain http: there is no certificate to trust")
        return ssl.create_default_context(cafile=self.ca_file)

    # -- life cycle -------------------------------------------------------

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _command(self, binary: Path, state_dir: str) -> list[str]:
        c = self.counts
        cmd = [
            str(binary),
            "-mode",
            self.mode,
            "-listen",
            f"{self.listen}:{self._want_port}",
            f"-tls={'true' if self.transport == 'https' else 'false'}",
            "-vms",
            str(c["vms"]),
            "-datastores",
            str(c["datastores"]),
            "-username",
            self.username,
            "-state-dir",
            state_dir,
            "-tools",
            self.tools,
            "-shutdown-delay",
            f"{self.shutdown_delay}s",
            "-exit-on-stdin-eof",
        ]
        if self.estate:
            cmd += ["-estate", self.estate, "-seed", str(self.seed)]
        elif self.mode == "vpx":
            cmd += [
                "-datacenters",
                str(c["datacenters"]),
                "-folders",
                str(c["folders"]),
                "-clusters",
                str(c["clusters"]),
                "-hosts",
                str(c["hosts"]),
                "-standalone-hosts",
                str(c["standalone_hosts"]),
                "-pools",
                str(c["pools"]),
            ]
        if self.session_idle_timeout:
            cmd += ["-session-idle-timeout", f"{self.session_idle_timeout}s"]
        if self.management_server_ip:
            cmd += ["-management-server-ip", self.management_server_ip]
        if self.host_name and self.mode == "esx":
            cmd += ["-host-name", self.host_name]
        return cmd

    def start(self) -> Simulator:
        """Start the launcher and wait until it listens."""
        if self._attached:
            raise SimulatorError(
                "this handle is attached to a simulator another process runs: it cannot start one"
            )
        if self.running:
            return self
        binary = ensure_built()
        state_dir = tempfile.mkdtemp(prefix="esxnb-sim-")
        self._state_dir = state_dir
        cmd = self._command(binary, state_dir)
        if self.managed_by is not None:
            mirror = Path(state_dir) / "mirror.json"
            mirror.write_text(json.dumps(self.managed_by.vms(host=self.host_name)))
            cmd += ["-mirror", str(mirror), "-management-server-ip", self.managed_by.host]
            # and keeps following it: VMs vCenter moves here or away appear and go (follow.go)
            vcenter_control = self.managed_by._need("url").rsplit("/sdk", 1)[0] + "/esxnb/control"
            cmd += ["-follow", vcenter_control]
            if self.managed_by.ca_file:
                cmd += ["-follow-ca", self.managed_by.ca_file]
        env = dict(
            os.environ, ESXNB_SIM_PASSWORD=self._password, ESXNB_SIM_TOKEN=self._token, TMPDIR=state_dir
        )
        if self.managed_by is not None:
            env["ESXNB_SIM_FOLLOW_TOKEN"] = self.managed_by._token
        log_path = Path(state_dir) / "launcher.log"
        with open(log_path, "wb") as log:
            try:
                self._proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                self._cleanup_dir()
                raise SimulatorError(f"cannot run the simulator launcher {binary}: {exc}") from exc
        _running.add(self)
        try:
            self._ready = self._wait_ready(log_path)
        except BaseException:
            self.stop()
            raise
        if self.managed_by is not None:
            self.managed_by.set_host_ip(self.host_name or "", self.host)
        return self

    def _wait_ready(self, log_path: Path) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        buffer = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SimulatorError(
                        f"the simulator did not start within {self.startup_timeout:.0f} s"
                        + self._log_tail(log_path)
                    )
                if not sel.select(timeout=min(left, 0.5)):
                    if self._proc.poll() is not None:
                        break
                    continue
                chunk = os.read(self._proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
        line = buffer.split(b"\n", 1)[0]
        if not line:
            code = self._proc.wait(timeout=5)
            raise SimulatorError(
                f"the simulator launcher exited with status {code}" + self._log_tail(log_path)
            )
        try:
            ready = json.loads(line)
        except ValueError as exc:
            raise SimulatorError(f"unexpected first line from the launcher: {line[:200]!r}") from exc
        return ready

    @staticmethod
    def _log_tail(log_path: Path, lines: int = 20) -> str:
        try:
            text = log_path.read_text(errors="replace").strip()
        except OSError:
            return ""
        if not text:
            return ""
        return "; launcher log:\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the launcher (SIGINT, then SIGKILL) and remove its files (an attached handle
        only lets go: the process that started the simulator stops it)."""
        if self._attached:
            self._ready = {}
            return
        proc, self._proc = self._proc, None
        _running.discard(self)
        if proc is not None:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGINT)
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=timeout)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        self._cleanup_dir()
        self._ready = {}

    def _cleanup_dir(self) -> None:
        if self._state_dir:
            shutil.rmtree(self._state_dir, ignore_errors=True)
            self._state_dir = None

    def __del__(self) -> None:
        if getattr(self, "_proc", None) is not None:
            try:
                self.stop(timeout=2)
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass
