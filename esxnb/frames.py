"""Inventory as pandas DataFrames: ``Connection.domains()``, ``scheduler()`` and ``hosts()``.

Each table comes from one bulk PropertyCollector retrieval (paged with
ContinueRetrievePropertiesEx) over two container views kept per connection: one of the
VirtualMachines in the connection's scope and one of the structure (folders, datacenters,
compute resources, hosts, resource pools) that the host, cluster, datacenter and folder
columns are computed from. Answers are decoded straight into columns (:mod:`esxnb._fastpc`),
so 10,000 domains take a round trip or two, never one call per VM or per attribute.

``esxnb.inventory(uris)`` (:mod:`esxnb.many`) does the same for many servers at once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from ._fastpc import FastCollector, Ref, Retrieval, StaleSessionError, ref_of
from ._faults import translate

if TYPE_CHECKING:
    import pandas as pd

    from .connection import Connection

__all__ = [
    "InventoryMixin",
    "domains_columns",
    "domain_specs",
    "DOMAIN_STATES",
    "TOOLS_STATUSES",
    "SHARES_LEVELS",
    "CONNECTION_STATES",
    "HOST_POWER_STATES",
]

PC = vmodl.query.PropertyCollector

#: libvirt's words for vSphere power states (``virsh domstate``).
DOMAIN_STATES = ("running", "paused", "shut off", "no state")
_STATE_WORDS = {"poweredOn": "running", "suspended": "paused", "poweredOff": "shut off"}
TOOLS_STATUSES = ("toolsOk", "toolsOld", "toolsNotRunning", "toolsNotInstalled")
SHARES_LEVELS = ("low", "normal", "high", "custom")
_SHARES_VALUES = {"low": -1, "normal": -2, "high": -3}
CONNECTION_STATES = ("connected", "disconnected", "notResponding")
HOST_POWER_STATES = ("poweredOn", "poweredOff", "standBy", "unknown")

_DATASTORE = re.compile(r"^\[([^\]]*)\]")

_VM_DOMAIN_PATHS = (
    "name",
    "config.uuid",
    "runtime.powerState",
    "config.hardware.memoryMB",
    "config.memoryAllocation.limit",
    "config.hardware.numCPU",
    "config.guestFullName",
    "config.guestId",
    "config.files.vmPathName",
    "runtime.host",
    "parent",
    "resourcePool",
    "guest.toolsStatus",
    "guest.toolsRunningStatus",
)
_VM_SCHEDULER_PATHS = (
    "name",
    "config.uuid",
    "runtime.host",
    "config.cpuAllocation.reservation",
    "config.cpuAllocation.limit",
    "config.cpuAllocation.shares.shares",
    "config.cpuAllocation.shares.level",
)
_HOST_DETAIL_PATHS = (
    "runtime.connectionState",
    "runtime.powerState",
    "vm",
    "summary.hardware.numCpuCores",
    "summary.hardware.cpuMhz",
    "summary.hardware.memorySize",
)
_AUTOSTART_PATHS = ("config.defaults.enabled", "config.powerInfo")
# ComputeResource/ResourcePool already cover their subtypes; the subtypes are named too for
# servers that match view types exactly.
_STRUCTURE_TYPES = (
    vim.Folder,
    vim.Datacenter,
    vim.ComputeResource,
    vim.ClusterComputeResource,
    vim.HostSystem,
    vim.ResourcePool,
    vim.VirtualApp,
)


# -- per-connection state --------------------------------------------------------------


@dataclass
class _Views:
    """The container views a connection keeps for inventory retrievals (they live with its session)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    vms: Any = None
    structure: Any = None
    # Every host's HostAutoStartManager seen so far: asked in the same retrieval next time.
    autostart_managers: set[Ref] = field(default_factory=set)


def _state(conn: Any) -> _Views:
    state = conn.__dict__.get("_esxnb_inventory")
    if state is None:
        state = conn.__dict__.setdefault("_esxnb_inventory", _Views())
    return state


def _view_traversal() -> Any:
    return PC.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)


def _properties(kind: Any, paths: Iterable[str]) -> Any:
    return PC.PropertySpec(type=kind, pathSet=list(paths))


class _Inventory:
    """One inventory read on one connection: views, retrievals, and the structure decoded."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.state = _state(conn)
        self.collector = FastCollector(conn.session)
        self.round_trips = 0

    # -- views ------------------------------------------------------------------------

    def _structure_root(self) -> Any:
        return self.conn.datacenter if self.conn.datacenter is not None else self.conn.content.rootFolder

    def _ensure_views(self, *, vms: bool) -> None:
        state = self.state
        manager = self.conn.content.viewManager
        with translate("cannot create an inventory view"):
            if vms and state.vms is None:
                state.vms = manager.CreateContainerView(self.conn.scope, [vim.VirtualMachine], True)
                self.round_trips += 1
            if state.structure is None:
                state.structure = manager.CreateContainerView(
                    self._structure_root(), list(_STRUCTURE_TYPES), True
                )
                self.round_trips += 1

    def _retrieve(self, build: Callable[[], list[Any]], *, vms: bool) -> Retrieval:
        """Run the filter specs ``build()`` makes; once more with new views if the session changed."""
        with self.state.lock:
            try:
                return self._retrieve_once(build, vms=vms)
            except StaleSessionError:
                # Views die with their session. Creating new ones through pyvmomi also
                # logs in again when the session itself has expired.
                self.state.vms = self.state.structure = None
            return self._retrieve_once(build, vms=vms)

    def _retrieve_once(self, build: Callable[[], list[Any]], *, vms: bool) -> Retrieval:
        self._ensure_views(vms=vms)
        try:
            return self.collector.retrieve(
                build(), context=f"cannot read the inventory of {self.conn.uri.hostname}"
            )
        finally:
            self.round_trips += self.collector.round_trips
            self.collector.round_trips = 0

    # -- filter specs ----------------------------------------------------------------

    def _vm_filter(self, paths: Sequence[str]) -> Any:
        return PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=self.state.vms, skip=True, selectSet=[_view_traversal()])],
            propSet=[_properties(vim.VirtualMachine, paths)],
        )

    def _structure_filter(self, host_paths: Sequence[str] = ()) -> Any:
        objects = [PC.ObjectSpec(obj=self.state.structure, skip=True, selectSet=[_view_traversal()])]
        if self.conn.datacenter is not None:  # a view never holds its own container
            objects.append(PC.ObjectSpec(obj=self.conn.datacenter, skip=False))
        basic = ("name", "parent")
        return PC.FilterSpec(
            objectSet=objects,
            propSet=[
                _properties(vim.Folder, basic),
                _properties(vim.Datacenter, basic),
                _properties(vim.ComputeResource, basic),
                _properties(vim.ResourcePool, basic),
                _properties(vim.HostSystem, (*basic, "configManager.autoStartManager", *host_paths)),
            ],
        )

    def _autostart_filter(self, managers: Iterable[Ref]) -> Any | None:
        stub = self.conn.session.stub
        objects = [
            PC.ObjectSpec(obj=vim.host.AutoStartManager(ref.value, stub), skip=False)
            for ref in sorted(managers)
        ]
        if not objects:
            return None
        return PC.FilterSpec(
            objectSet=objects,
            propSet=[_properties(vim.host.AutoStartManager, _AUTOSTART_PATHS)],
            # Hosts without an autostart manager (or with one we may not read) are not an error.
            reportMissingObjectsInResults=True,
        )

    def domain_specs(self) -> list[Any]:
        """The filter specs ``domains()`` sends (views created as needed), for comparisons."""
        with self.state.lock:
            self._ensure_views(vms=True)
            return [self._vm_filter(_VM_DOMAIN_PATHS), self._structure_filter()]

    # -- what the tables are built from -----------------------------------------------------

    def read(
        self, vm_paths: Sequence[str] | None, *, host_paths: Sequence[str] = (), autostart: bool = False
    ) -> _Snapshot:
        known_managers = set(self.state.autostart_managers) if autostart else set()

        def build() -> list[Any]:
            specs = [self._structure_filter(host_paths)]
            if vm_paths is not None:
                specs.insert(0, self._vm_filter(vm_paths))
            extra = self._autostart_filter(known_managers)
            if extra is not None:
                specs.append(extra)
            return specs

        result = self._retrieve(build, vms=vm_paths is not None)
        snapshot = _Snapshot(self.conn, result)
        if autostart:
            managers = {m for m in snapshot.host_autostart_managers().values() if m is not None}
            self.state.autostart_managers |= managers
            new = managers - known_managers
            if new:
                filter_spec = self._autostart_filter(new)
                extra = self._retrieve(lambda: [filter_spec], vms=False)
                snapshot.add(extra)
        return snapshot


class _Snapshot:
    """The structure of one retrieval: names, parents and the paths computed from them."""

    def __init__(self, conn: Connection, result: Retrieval) -> None:
        self.conn = conn
        self.result = result
        self.props: dict[Ref, dict[str, Any]] = result.properties()
        self._dc_paths: dict[Ref, str] = {}
        self._dc_of: dict[Ref, Ref | None] = {}
        self._cr_paths: dict[Ref, str | None] = {}
        self._folder_paths: dict[Ref, str | None] = {}
        self._pool_paths: dict[Ref, str | None] = {}
        if conn.datacenter is not None and conn.datacenter_path:
            self._dc_paths[ref_of(conn.datacenter)] = conn.datacenter_path

    def add(self, more: Retrieval) -> None:
        self.props.update(more.properties())
        self.result.missing_objects |= more.missing_objects

    def name(self, ref: Ref | None) -> str | None:
        if ref is None:
            return None
        value = self.props.get(ref, {}).get("name")
        return value if isinstance(value, str) else None

    def parent(self, ref: Ref | None) -> Ref | None:
        if ref is None:
            return None
        value = self.props.get(ref, {}).get("parent")
        return value if isinstance(value, Ref) else None

    def datacenter_of(self, ref: Ref | None) -> Ref | None:
        if ref is None:
            return None
        if ref in self._dc_of:
            return self._dc_of[ref]
        walked = []
        found = None
        current: Ref | None = ref
        while current is not None and len(walked) < 1000:
            if current.type == "Datacenter":
                found = current
                break
            if current in self._dc_of:
                found = self._dc_of[current]
                break
            walked.append(current)
            current = self.parent(current)
        for item in walked:
            self._dc_of[item] = found
        return found

    def datacenter_path(self, dc: Ref | None) -> str | None:
        """``folder/.../datacenter`` as in a vpx:// URI."""
        if dc is None:
            return None
        path = self._dc_paths.get(dc)
        if path is None:
            names = [self.name(dc) or dc.value]
            current = self.parent(dc)
            # Folders above the datacenter are in the map only up to the root folder (the
            # root is the view's container, so it is never in the view itself).
            while current is not None and current in self.props and self.parent(current) is not None:
                names.append(self.name(current) or current.value)
                current = self.parent(current)
            path = "/".join(reversed(names))
            self._dc_paths[dc] = path
        return path

    def _below_datacenter(self, ref: Ref, cache: dict[Ref, str | None]) -> str | None:
        """Names from the datacenter's top folder (vm/host folder, excluded) down to ``ref``."""
        if ref in cache:
            return cache[ref]
        names = []
        current: Ref | None = ref
        while current is not None:
            parent = self.parent(current)
            if parent is None or current not in self.props:
                names = None  # not under a datacenter we can see
                break
            if parent.type == "Datacenter":
                break  # current is the datacenter's vmFolder/hostFolder
            names.append(self.name(current) or current.value)
            current = parent
        path = "/".join(reversed(names)) if names is not None else None
        cache[ref] = path
        return path

    def compute_resource_path(self, cr: Ref | None) -> str | None:
        if cr is None:
            return None
        return self._below_datacenter(cr, self._cr_paths)

    def folder_path(self, folder: Ref | None) -> str | None:
        """A VM folder as ``/`` (the datacenter's VM folder) or ``/a/b``."""
        if folder is None or folder.type != "Folder":
            return None
        below = self._below_datacenter(folder, self._folder_paths)
        if below is None:
            return None
        return "/" + below if below else "/"

    def pool_path(self, pool: Ref | None) -> str | None:
        """A resource pool as ``Resources/child`` (from the compute resource's root pool)."""
        if pool is None:
            return None
        if pool in self._pool_paths:
            return self._pool_paths[pool]
        names = []
        current: Ref | None = pool
        while (
            current is not None and current.type in ("ResourcePool", "VirtualApp") and current in self.props
        ):
            names.append(self.name(current) or current.value)
            current = self.parent(current)
        path = "/".join(reversed(names)) or None
        self._pool_paths[pool] = path
        return path

    def host_place(self, host: Ref | None) -> tuple[str | None, str | None, str | None, str | None]:
        """``(host name, compute resource path, cluster path or None, datacenter path)``."""
        if host is None:
            return None, None, None, None
        cr = self.parent(host)
        cr_path = self.compute_resource_path(cr)
        cluster = cr_path if cr is not None and cr.type == "ClusterComputeResource" else None
        return self.name(host), cr_path, cluster, self.datacenter_path(self.datacenter_of(host))

    def host_autostart_managers(self) -> dict[Ref, Ref | None]:
        table = self.result.table("HostSystem")
        return {
            ref: value if isinstance(value, Ref) else None
            for ref, value in zip(table.refs, table.column("configManager.autoStartManager"))
        }

    def autostart(self) -> Callable[[Ref, Ref | None], bool | None]:
        """``f(vm, host)``: libvirt's autostart rule, None where the host's setting is unknown."""
        per_manager: dict[Ref, tuple[bool, dict[str, str]]] = {}
        for ref, props in self.props.items():
            if ref.type != "HostAutoStartManager" or ref in self.result.missing_objects:
                continue
            enabled = props.get("config.defaults.enabled") is True
            actions: dict[str, str] = {}
            for info in props.get("config.powerInfo") or []:
                if isinstance(info, dict) and isinstance(info.get("key"), Ref):
                    actions[info["key"].value] = str(info.get("startAction") or "")
            per_manager[ref] = (enabled, actions)
        managers = self.host_autostart_managers()

        def rule(vm: Ref, host: Ref | None) -> bool | None:
            manager = managers.get(host) if host is not None else None
            found = per_manager.get(manager) if manager is not None else None
            if found is None:
                return None
            enabled, actions = found
            return enabled and actions.get(vm.value, "").lower() == "poweron"

        return rule


# -- column helpers -----------------------------------------------------------------------


def _vm_id(moref: str, state: str) -> int | None:
    """libvirt's domain ID: the moref's number (``vm-42`` -> 42), none while shut off."""
    if state == "shut off":
        return None
    text = moref[3:] if moref.startswith("vm-") else moref
    return int(text) if text.isdigit() and int(text) > 0 else None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _categorical(values: list[Any], known: Sequence[str]) -> Any:
    import pandas as pd

    extra = sorted({v for v in values if v is not None and v not in known})
    return pd.Categorical(values, categories=[*known, *extra])


def _frame(columns: dict[str, tuple[list[Any], str | Sequence[str]]], order: list[int]) -> pd.DataFrame:
    """A DataFrame from ``{name: (values, dtype or categories)}``, rows taken in ``order``."""
    import pandas as pd

    data: dict[str, Any] = {}
    for name, (values, kind) in columns.items():
        ordered = [values[i] for i in order]
        if isinstance(kind, str):
            data[name] = pd.array(ordered, dtype=kind)
        else:
            data[name] = _categorical(ordered, kind)
    return pd.DataFrame(data)


def _sorted_rows(*keys: list[Any]) -> list[int]:
    count = len(keys[0]) if keys else 0
    return sorted(range(count), key=lambda i: tuple("" if k[i] is None else str(k[i]) for k in keys))


def _vm_names() -> Callable[[Any], str | None]:
    """VM names as users write them (the server escapes ``/``, ``\\`` and ``%``)."""
    from .domain import display_name

    return lambda value: display_name(value) if isinstance(value, str) else None


def _finish(frame: pd.DataFrame, inv: _Inventory, started: float) -> pd.DataFrame:
    frame.attrs["round_trips"] = inv.round_trips
    frame.attrs["seconds"] = round(time.perf_counter() - started, 4)
    frame.attrs["server"] = str(inv.conn.uri)
    return frame


# -- the tables -------------------------------------------------------------------------------

# Column -> pandas dtype, or the categories of a categorical column.
_DOMAIN_KINDS: dict[str, str | Sequence[str]] = {
    "name": "string",
    "uuid": "string",
    "id": "Int64",
    "state": DOMAIN_STATES,
    "max_memory_mib": "Int64",
    "memory_mib": "Int64",
    "vcpus": "Int64",
    "guest_os": "string",
    "guest_id": "string",
    "vmx_path": "string",
    "datastore": "string",
    "host": "string",
    "compute_resource": "string",
    "cluster": "string",
    "datacenter": "string",
    "folder": "string",
    "resource_pool": "string",
    "tools_status": TOOLS_STATUSES,
    "tools_running": "boolean",
    "autostart": "boolean",
    "moref": "string",
}


def domain_specs(conn: Connection) -> list[Any]:
    """The PropertyCollector filter specs behind ``conn.domains()`` (for benchmarks and debugging)."""
    return _Inventory(conn).domain_specs()


def domains_columns() -> pd.DataFrame:
    """An empty ``domains()`` table: its columns with their dtypes."""
    return _frame({name: ([], kind) for name, kind in _DOMAIN_KINDS.items()}, [])


def domains(conn: Connection) -> pd.DataFrame:
    """One row per domain (VM) in the connection's scope; see ``InventoryMixin.domains``."""
    started = time.perf_counter()
    inv = _Inventory(conn)
    snapshot = inv.read(_VM_DOMAIN_PATHS, autostart=True)
    table = snapshot.result.table("VirtualMachine")
    autostart = snapshot.autostart()
    vm_name = _vm_names()
    cols: dict[str, list[Any]] = {key: [] for key in _DOMAIN_KINDS}
    for ref, row in zip(table.refs, table.rows):
        state = _STATE_WORDS.get(row.get("runtime.powerState"), "no state")
        max_memory = _int(row.get("config.hardware.memoryMB"))
        limit = _int(row.get("config.memoryAllocation.limit"))
        vmx_path = row.get("config.files.vmPathName")
        match = _DATASTORE.match(vmx_path) if isinstance(vmx_path, str) else None
        host = row.get("runtime.host") if isinstance(row.get("runtime.host"), Ref) else None
        host_name, cr_path, cluster, dc_path = snapshot.host_place(host)
        if dc_path is None:
            dc_path = snapshot.datacenter_path(snapshot.datacenter_of(row.get("parent")))
        running = row.get("guest.toolsRunningStatus")
        cols["name"].append(vm_name(row.get("name")))
        cols["uuid"].append(row.get("config.uuid"))
        cols["id"].append(_vm_id(ref.value, state))
        cols["state"].append(state)
        cols["max_memory_mib"].append(max_memory)
        cols["memory_mib"].append(limit if limit is not None and limit >= 0 else max_memory)
        cols["vcpus"].append(_int(row.get("config.hardware.numCPU")))
        cols["guest_os"].append(row.get("config.guestFullName"))
        cols["guest_id"].append(row.get("config.guestId"))
        cols["vmx_path"].append(vmx_path)
        cols["datastore"].append(match.group(1) if match else None)
        cols["host"].append(host_name)
        cols["compute_resource"].append(cr_path)
        cols["cluster"].append(cluster)
        cols["datacenter"].append(dc_path)
        cols["folder"].append(snapshot.folder_path(row.get("parent")))
        cols["resource_pool"].append(snapshot.pool_path(row.get("resourcePool")))
        cols["tools_status"].append(row.get("guest.toolsStatus"))
        cols["tools_running"].append(
            None if running is None else running in ("guestToolsRunning", "guestToolsExecutingScripts")
        )
        cols["autostart"].append(autostart(ref, host))
        cols["moref"].append(ref.value)
    order = _sorted_rows(cols["datacenter"], cols["host"], cols["name"], cols["moref"])
    frame = _frame({name: (values, _DOMAIN_KINDS[name]) for name, values in cols.items()}, order)
    return _finish(frame, inv, started)


def scheduler(conn: Connection) -> pd.DataFrame:
    """One row per domain with its CPU scheduler parameters; see ``InventoryMixin.scheduler``."""
    started = time.perf_counter()
    inv = _Inventory(conn)
    snapshot = inv.read(_VM_SCHEDULER_PATHS)
    table = snapshot.result.table("VirtualMachine")
    vm_name = _vm_names()
    cols: dict[str, list[Any]] = {
        key: []
        for key in (
            "name",
            "uuid",
            "host",
            "datacenter",
            "reservation_mhz",
            "limit_mhz",
            "shares",
            "shares_level",
            "shares_value",
            "moref",
        )
    }
    for ref, row in zip(table.refs, table.rows):
        host = row.get("runtime.host") if isinstance(row.get("runtime.host"), Ref) else None
        host_name, _cr, _cluster, dc_path = snapshot.host_place(host)
        level = row.get("config.cpuAllocation.shares.level")
        shares = _int(row.get("config.cpuAllocation.shares.shares"))
        cols["name"].append(vm_name(row.get("name")))
        cols["uuid"].append(row.get("config.uuid"))
        cols["host"].append(host_name)
        cols["datacenter"].append(dc_path)
        cols["reservation_mhz"].append(_int(row.get("config.cpuAllocation.reservation")))
        cols["limit_mhz"].append(_int(row.get("config.cpuAllocation.limit")))
        cols["shares"].append(shares)
        cols["shares_level"].append(level)
        cols["shares_value"].append(_SHARES_VALUES.get(level, shares) if level is not None else None)
        cols["moref"].append(ref.value)
    order = _sorted_rows(cols["datacenter"], cols["host"], cols["name"], cols["moref"])
    kinds: dict[str, str | Sequence[str]] = {
        "reservation_mhz": "Int64",
        "limit_mhz": "Int64",
        "shares": "Int64",
        "shares_level": SHARES_LEVELS,
        "shares_value": "Int64",
    }
    frame = _frame({name: (values, kinds.get(name, "string")) for name, values in cols.items()}, order)
    return _finish(frame, inv, started)


def hosts(conn: Connection) -> pd.DataFrame:
    """One row per host in the connection's scope; see ``InventoryMixin.hosts``."""
    started = time.perf_counter()
    inv = _Inventory(conn)
    snapshot = inv.read(None, host_paths=_HOST_DETAIL_PATHS)
    table = snapshot.result.table("HostSystem")
    scope = ref_of(conn.scope)
    cols: dict[str, list[Any]] = {
        key: []
        for key in (
            "name",
            "datacenter",
            "cluster",
            "compute_resource",
            "path",
            "connection_state",
            "power_state",
            "vms",
            "cpu_cores",
            "cpu_mhz",
            "memory_mib",
            "moref",
        )
    }
    for ref, row in zip(table.refs, table.rows):
        if not _within(snapshot, ref, scope):
            continue
        name, cr_path, cluster, dc_path = snapshot.host_place(ref)
        parts = [p for p in (dc_path, cr_path) if p]
        if cluster is not None and name:
            parts.append(name)
        memory = _int(row.get("summary.hardware.memorySize"))
        vms = row.get("vm")
        cols["name"].append(name)
        cols["datacenter"].append(dc_path)
        cols["cluster"].append(cluster)
        cols["compute_resource"].append(cr_path)
        cols["path"].append("/".join(parts) if parts else None)
        cols["connection_state"].append(row.get("runtime.connectionState"))
        cols["power_state"].append(row.get("runtime.powerState"))
        cols["vms"].append(len(vms) if isinstance(vms, list) else 0)
        cols["cpu_cores"].append(_int(row.get("summary.hardware.numCpuCores")))
        cols["cpu_mhz"].append(_int(row.get("summary.hardware.cpuMhz")))
        cols["memory_mib"].append(memory // (1024 * 1024) if memory is not None else None)
        cols["moref"].append(ref.value)
    order = _sorted_rows(cols["datacenter"], cols["path"], cols["moref"])
    kinds: dict[str, str | Sequence[str]] = {
        "connection_state": CONNECTION_STATES,
        "power_state": HOST_POWER_STATES,
        "vms": "Int64",
        "cpu_cores": "Int64",
        "cpu_mhz": "Int64",
        "memory_mib": "Int64",
    }
    frame = _frame({name: (values, kinds.get(name, "string")) for name, values in cols.items()}, order)
    return _finish(frame, inv, started)


def _within(snapshot: _Snapshot, ref: Ref, scope: Ref) -> bool:
    current: Ref | None = ref
    for _ in range(1000):
        if current is None:
            return scope.type == "Folder"  # the root folder: everything is below it
        if current == scope:
            return True
        current = snapshot.parent(current)
    return False


# -- the mixin -------------------------------------------------------------------------------


class InventoryMixin:
    """``domains()``, ``scheduler()`` and ``hosts()`` for :class:`~esxnb.connection.Connection`.

    Rows are sorted by datacenter, host and name; ``df.attrs`` holds ``round_trips`` (HTTP
    requests the call made), ``seconds`` and ``server``.
    """

    def domains(self) -> pd.DataFrame:
        """One row per domain: ``name``, ``uuid`` (BIOS UUID), ``id`` (libvirt's: the moref
        number, <NA> while shut off), ``state`` (running / paused / shut off / no state),
        ``max_memory_mib``, ``memory_mib`` (the memory limit, else the maximum, as libvirt),
        ``vcpus``, ``guest_os``, ``guest_id``, ``vmx_path`` (``[datastore] dir/name.vmx``),
        ``datastore``, ``host``, ``compute_resource`` and ``cluster`` (paths below the
        datacenter's host folder), ``datacenter`` (path), ``folder`` (``/`` or ``/a/b`` in the
        datacenter's VM folder), ``resource_pool``, ``tools_status``, ``tools_running``,
        ``autostart`` (<NA> where the host has no autostart manager) and ``moref``.
        """
        return domains(self)  # type: ignore[arg-type]

    def scheduler(self) -> pd.DataFrame:
        """One row per domain with the spec's CPU scheduler parameters: ``reservation_mhz``,
        ``limit_mhz`` (-1 = unlimited), ``shares`` (the number of shares), ``shares_level``
        (low / normal / high / custom) and ``shares_value`` (libvirt's: -1 / -2 / -3 for
        low / normal / high, else the custom number)."""
        return scheduler(self)  # type: ignore[arg-type]

    def hosts(self) -> pd.DataFrame:
        """One row per host in scope: ``name``, ``datacenter``, ``cluster``,
        ``compute_resource``, ``path`` (the host's vpx:// URI path), ``connection_state``,
        ``power_state``, ``vms`` (count), ``cpu_cores``, ``cpu_mhz``, ``memory_mib``, ``moref``."""
        return hosts(self)  # type: ignore[arg-type]
