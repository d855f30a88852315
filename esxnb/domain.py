"""``Domain``: one virtual machine on a connection, with libvirt's lifecycle operations."""

from __future__ import annotations

import difflib
import logging
import re
import threading
import time
import uuid as uuid_module
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from . import errors
from ._collect import in_view, retrieve
from ._faults import translate
from .tasks import (
    TaskCancelledError,
    Progress,
    next_update,
    prepare_vm_for_task,
    raise_if_cancelled,
    wait_for_task,
)

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "Domain",
    "find_domain",
    "list_vms",
    "STATE_WORDS",
    "display_name",
    "inventory_name",
    "normalize_uuid",
    "DEFAULT_SHUTDOWN_TIMEOUT",
]

log = logging.getLogger("esxnb")

PC = vmodl.query.PropertyCollector

# vSphere power states in libvirt's words.
STATE_WORDS = {"poweredOn": "running", "suspended": "paused", "poweredOff": "shut off"}
DEFAULT_SHUTDOWN_TIMEOUT = 300.0

_ESCAPED = re.compile(r"%(25|2[fF]|5[cC])")


def display_name(server_name: str) -> str:
    """A VM name as the server stores it (``%2f`` for ``/``, ``%25``, ``%5c``) -> as a user writes it."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), server_name)


def inventory_name(name: str) -> str:
    """The inverse of :func:`display_name`: how the server spells a VM name."""
    return name.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


def normalize_uuid(text: str) -> str | None:
    """``text`` as a canonical lower-case UUID, or None when it is not one.

    Accepts the usual dashed form, 32 bare hex digits and VMware's ``"56 4d ... 2a-1b ..."``.
    """
    compact = re.sub(r"[\s\-{}]", "", text)
    if not re.fullmatch(r"[0-9a-fA-F]{32}", compact):
        return None
    return str(uuid_module.UUID(compact))


def list_vms(
    conn: Connection, properties: tuple[str, ...] = ("name", "config.uuid"), *, container: Any = None
) -> dict[Any, dict[str, Any]]:
    """``{vm: {path: value}}`` for every VM in the connection's scope (or ``container``), one container view."""
    container = container if container is not None else conn.scope
    return in_view(conn.content, container, vim.VirtualMachine, properties, context="listing domains")


def find_domain(conn: Connection, name_or_uuid: str) -> Domain:
    """The domain called ``name_or_uuid`` (a name or a BIOS UUID) in the connection's scope."""
    if not isinstance(name_or_uuid, str) or not name_or_uuid:
        raise errors.ValidationError(f"a domain is named by a non-empty name or uuid, not {name_or_uuid!r}")
    wanted_uuid = normalize_uuid(name_or_uuid)
    if wanted_uuid is not None:
        found = _by_uuid_index(conn, wanted_uuid)
        if found is not None:
            return found
    vms = list_vms(conn)
    if wanted_uuid is not None:
        matches = [
            vm for vm, p in vms.items() if normalize_uuid(str(p.get("config.uuid") or "")) == wanted_uuid
        ]
        if len(matches) == 1:
            vm = matches[0]
            return Domain(conn, vm, name=display_name(str(vms[vm].get("name", ""))), uuid=wanted_uuid)
        if len(matches) > 1:
            names = sorted(display_name(str(vms[vm].get("name", ""))) for vm in matches)
            raise errors.ValidationError(
                f"several domains share uuid {wanted_uuid}: {', '.join(names)}; name one of them"
            )
    by_name: dict[str, list[Any]] = {}
    for vm, props in vms.items():
        by_name.setdefault(display_name(str(props.get("name", ""))), []).append(vm)
    matches = by_name.get(name_or_uuid) or by_name.get(display_name(name_or_uuid)) or []
    if len(matches) > 1:
        uuids = sorted(str(vms[vm].get("config.uuid")) for vm in matches)
        raise errors.ValidationError(
            f"several domains are called {name_or_uuid!r} (uuids {', '.join(uuids)}); name one by its uuid"
        )
    if matches:
        vm = matches[0]
        return Domain(conn, vm, name=display_name(str(vms[vm].get("name", ""))), uuid=_uuid_of(vms[vm]))
    where = conn.location.host_name or conn.datacenter_path or conn.session.hostname
    suggestions = difflib.get_close_matches(name_or_uuid, list(by_name), n=3, cutoff=0.6)
    kind = "uuid" if wanted_uuid is not None else "name"
    raise errors.NotFoundError(f"no domain with {kind} {name_or_uuid!r} on {where}", suggestions=suggestions)


def _by_uuid_index(conn: Connection, uuid: str) -> Domain | None:
    """The quick way for a UUID: the server's SearchIndex, when its answer lies in the scope.

    None sends the caller to the full listing (no match, or a match outside the scope that
    may hide another VM with the same BIOS UUID inside it).
    """
    with translate(f"looking up domain {uuid}"):
        vm = conn.content.searchIndex.FindByUuid(datacenter=conn.datacenter, uuid=uuid, vmSearch=True)
    if vm is None:
        return None
    try:
        props = retrieve(conn.content, [vm], ["name", "config.uuid", "runtime.host"]).get(vm)
    except errors.NotFoundError:
        return None
    if props is None or normalize_uuid(str(props.get("config.uuid") or "")) != uuid:
        return None
    host = props.get("runtime.host")
    if conn.host is not None:
        if host is None or host._moId != conn.host._moId:
            return None
    elif conn.compute_resource is not None:
        hosts = (
            retrieve(conn.content, [conn.compute_resource], ["host"])
            .get(conn.compute_resource, {})
            .get("host")
        )
        if host is None or host._moId not in {h._moId for h in hosts or []}:
            return None
    return Domain(conn, vm, name=display_name(str(props.get("name", ""))), uuid=uuid)


def _uuid_of(props: dict[str, Any]) -> str:
    text = str(props.get("config.uuid") or "")
    return normalize_uuid(text) or text


class Domain:
    """A handle on one VM: ``name``, ``uuid`` (BIOS), ``vm`` (pyVmomi VirtualMachine), ``connection``.

    Every operation reads the VM's current state from the server first; nothing is cached
    but the identity. The long operations take ``progress(percent, message)``, ``timeout``
    (seconds) and ``cancel_event`` (a ``threading.Event``: once set, the server task is
    cancelled when the server allows it and :class:`~esxnb.tasks.TaskCancelledError` raised).
    """

    def __init__(self, connection: Connection, vm: Any, *, name: str, uuid: str) -> None:
        self.connection = connection
        self.vm = vm
        self.name = name
        self.uuid = uuid

    def __repr__(self) -> str:
        return f"<esxnb.Domain {self.name!r} uuid={self.uuid} on {self.connection.session.hostname}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Domain)
            and other.vm._moId == self.vm._moId
            and other.connection is self.connection
        )

    def __hash__(self) -> int:
        return hash((self.vm._moId, id(self.connection)))

    # -- reading -------------------------------------------------------------------------
    def _read(self, properties: tuple[str, ...]) -> dict[str, Any]:
        try:
            found = retrieve(self.connection.content, [self.vm], properties).get(self.vm)
        except errors.NotFoundError:
            found = None
        if found is None:
            raise errors.NotFoundError(
                f"domain {self.name!r} no longer exists on {self.connection.session.hostname}"
            )
        return found

    @property
    def power_state(self) -> str:
        """vSphere's ``runtime.powerState`` (poweredOn, poweredOff, suspended)."""
        return str(self._read(("runtime.powerState",)).get("runtime.powerState"))

    @property
    def state(self) -> str:
        """libvirt's word for the current state: running, paused (suspended) or shut off."""
        return STATE_WORDS.get(self.power_state, "no state")

    @property
    def host_name(self) -> str | None:
        host = self._read(("runtime.host",)).get("runtime.host")
        if host is None:
            return None
        return str(
            retrieve(self.connection.content, [host], ["name"]).get(host, {}).get("name") or host._moId
        )

    @property
    def vmx_path(self) -> str:
        """``[datastore] directory/name.vmx``."""
        path = self._read(("config.files.vmPathName",)).get("config.files.vmPathName")
        if not path:
            raise errors.NotFoundError(f"domain {self.name!r} has no VMX file path (config.files.vmPathName)")
        return str(path)

    def scheduler(self) -> dict[str, Any]:
        """``{"reservation": MHz, "limit": MHz or -1, "shares": n or -1/-2/-3, "shares_level": ...}``."""
        from .scheduler import settings_from_allocation

        settings = settings_from_allocation(self._read(("config.cpuAllocation",)).get("config.cpuAllocation"))
        return {**settings.as_dict(), "shares_level": settings.shares_level}

    # -- helpers ---------------------------------------------------------------------------
    def _require(self, power_state: str, allowed: tuple[str, ...], operation: str) -> None:
        if power_state not in allowed:
            words = " or ".join(STATE_WORDS[s] for s in allowed)
            raise errors.InvalidStateError(
                f"cannot {operation} domain {self.name!r}: it is {STATE_WORDS.get(power_state, power_state)}, "
                f"expecting {words}"
            )

    def _run_task(
        self,
        operation: str,
        allowed: tuple[str, ...],
        call: Callable[[], Any],
        progress: Progress | None,
        timeout: float | None,
        cancel_event: threading.Event | None,
        vm: Any | None = None,
        conn: Any | None = None,
    ) -> Any:
        conn = conn or self.connection
        vm = vm or self.vm
        # "change the scheduler parameters of" already ends in "of"
        description = f"{operation.removesuffix(' of')} of domain {self.name!r}"
        raise_if_cancelled(cancel_event, description)
        props = prepare_vm_for_task(conn, vm, ("runtime.powerState",), vm_name=self.name)
        self._require(str(props.get("runtime.powerState")), allowed, operation)
        raise_if_cancelled(cancel_event, description)
        with translate(f"cannot {operation} domain {self.name!r}"):
            task = call()
        return wait_for_task(
            conn,
            task,
            progress=progress,
            timeout=timeout,
            vm=vm,
            cancel_event=cancel_event,
            description=description,
            vm_name=self.name,
        )

    def _require_tools(self, operation: str) -> str:
        props = self._read(("runtime.powerState", "guest.toolsRunningStatus", "guest.toolsStatus"))
        power = str(props.get("runtime.powerState"))
        self._require(power, ("poweredOn",), operation)
        running = props.get("guest.toolsRunningStatus")
        if running not in ("guestToolsRunning", "guestToolsExecutingScripts"):
            status = props.get("guest.toolsStatus") or "unknown"
            why = {
                "toolsNotInstalled": "VMware tools are not installed in the guest",
                "toolsNotRunning": "VMware tools are not running in the guest",
            }.get(
                str(status), f"VMware tools are not running in the guest (tools status {status}, {running})"
            )
            raise errors.ToolsNotAvailableError(
                f"cannot {operation} domain {self.name!r}: {why}; {operation} needs them "
                "(use destroy() for a hard power off or reset() for a hard reset)"
            )
        return power

    def _guest_call(self, operation: str, call: Callable[[], Any]) -> None:
        try:
            with translate(f"cannot {operation} domain {self.name!r}"):
                call()
        except errors.ToolsNotAvailableError as exc:
            raise errors.ToolsNotAvailableError(
                f"cannot {operation} domain {self.name!r}: the server says VMware tools are not available in "
                f"the guest ({exc}); use destroy() for a hard power off or reset() for a hard reset"
            ) from exc

    def _vcenter_side(self) -> tuple[Any, Any]:
        """(connection, vm) to use where libvirt prefers the managing vCenter (destroy, undefine)."""
        vcenter = self.connection.vcenter
        if vcenter is None or vcenter is self.connection:
            return self.connection, self.vm
        with translate(f"looking up domain {self.name!r} in vCenter {vcenter.session.hostname}"):
            vm = vcenter.content.searchIndex.FindByUuid(
                datacenter=vcenter.datacenter, uuid=self.uuid, vmSearch=True
            )
        if vm is None:
            log.warning(
                "vCenter %s does not know domain %s; acting on the host directly",
                vcenter.session.hostname,
                self.name,
            )
            return self.connection, self.vm
        return vcenter, vm

    # -- lifecycle -------------------------------------------------------------------------
    def start(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Power on a shut-off domain (``virsh start``)."""
        self._run_task(
            "start", ("poweredOff",), lambda: self.vm.PowerOnVM_Task(), progress, timeout, cancel_event
        )

    def resume(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Power on a suspended (paused) domain."""
        self._run_task(
            "resume", ("suspended",), lambda: self.vm.PowerOnVM_Task(), progress, timeout, cancel_event
        )

    def suspend(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        self._run_task(
            "suspend", ("poweredOn",), lambda: self.vm.SuspendVM_Task(), progress, timeout, cancel_event
        )

    def reset(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Hard reset of a running domain (no tools needed)."""
        self._run_task(
            "reset", ("poweredOn",), lambda: self.vm.ResetVM_Task(), progress, timeout, cancel_event
        )

    def destroy(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Hard power off (``virsh destroy``); through the managing vCenter when connected to one."""
        conn, vm = self._vcenter_side()
        self._run_task(
            "destroy",
            ("poweredOn", "suspended"),
            lambda: vm.PowerOffVM_Task(),
            progress,
            timeout,
            cancel_event,
            vm,
            conn,
        )

    def shutdown(
        self,
        *,
        timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
        progress: Progress | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Ask the guest to shut down (needs VMware tools) and wait until it is off.

        A guest shutdown has no task: this watches ``runtime.powerState`` for at most
        ``timeout`` seconds (None: do not wait). A set ``cancel_event`` stops the wait with
        TaskCancelledError; the guest, once asked, goes on shutting down.
        """
        raise_if_cancelled(cancel_event, f"shut down of domain {self.name!r}")
        self._require_tools("shut down")
        self._guest_call("shut down", lambda: self.vm.ShutdownGuest())
        if progress is not None:
            progress(0, "guest shutdown requested")
        if timeout is None:
            return
        self._wait_for_power_state("poweredOff", float(timeout), "shut down", cancel_event)
        if progress is not None:
            progress(100, "shut off")

    def reboot(
        self, *, progress: Progress | None = None, cancel_event: threading.Event | None = None
    ) -> None:
        """Ask the guest to reboot (needs VMware tools); returns once the request is accepted.

        There is nothing to wait for, so ``cancel_event`` only prevents the request when it
        is set before.
        """
        raise_if_cancelled(cancel_event, f"reboot of domain {self.name!r}")
        self._require_tools("reboot")
        self._guest_call("reboot", lambda: self.vm.RebootGuest())
        if progress is not None:
            progress(100, "guest reboot requested")

    def undefine(self) -> None:
        """Unregister a shut-off or suspended domain; its files stay on the datastore."""
        conn, vm = self._vcenter_side()
        with translate(f"reading domain {self.name!r}"):
            power = retrieve(conn.content, [vm], ["runtime.powerState"]).get(vm, {}).get("runtime.powerState")
        if power is None:
            raise errors.NotFoundError(f"domain {self.name!r} no longer exists on {conn.session.hostname}")
        self._require(str(power), ("poweredOff", "suspended"), "undefine")
        with translate(f"cannot undefine domain {self.name!r}"):
            vm.UnregisterVM()

    def _wait_for_power_state(
        self, wanted: str, timeout: float, operation: str, cancel_event: threading.Event | None = None
    ) -> None:
        conn = self.connection
        deadline = time.monotonic() + timeout
        with translate(f"watching domain {self.name!r}"):
            collector = conn.content.propertyCollector.CreatePropertyCollector()
        try:
            spec = PC.FilterSpec(
                objectSet=[PC.ObjectSpec(obj=self.vm, skip=False)],
                propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["runtime.powerState"])],
            )
            with translate(f"watching domain {self.name!r}"):
                collector.CreateFilter(spec, True)
                version = ""
                state = None
                while True:
                    if cancel_event is not None and cancel_event.is_set():
                        raise TaskCancelledError(
                            f"{operation} of domain {self.name!r} was stopped by the caller; "
                            f"the guest was asked to {operation} and may still do so"
                        )
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        now = STATE_WORDS.get(str(state), str(state))
                        raise errors.TaskTimeoutError(
                            f"domain {self.name!r} is still {now} {timeout:g} s after the request to {operation}; "
                            "the guest may be ignoring it (destroy() powers it off hard)",
                            fault_type="Timedout",
                        )
                    update = next_update(conn, collector, version, remaining, cancel_event)
                    if update is None:
                        continue
                    version = update.version
                    for filter_update in update.filterSet or []:
                        for object_update in filter_update.objectSet or []:
                            if object_update.kind == "leave":
                                raise errors.NotFoundError(f"domain {self.name!r} disappeared while waiting")
                            for change in object_update.changeSet or []:
                                if change.name == "runtime.powerState":
                                    state = change.val
                    if str(state) == wanted:
                        return
        finally:
            try:
                collector.DestroyPropertyCollector()
            except Exception:  # clean-up must not hide the outcome
                log.debug("DestroyPropertyCollector failed", exc_info=True)

    # -- configuration ------------------------------------------------------------------------
    def set_scheduler(
        self,
        reservation: int | None = None,
        limit: int | None = None,
        shares: int | None = None,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Change the CPU scheduler parameters (spec "Scheduler configuration"); None keeps a value."""
        from .scheduler import allocation_spec, settings_from_allocation, validate

        props = self._read(("config.cpuAllocation", "config.hardware.numCPU"))
        current = settings_from_allocation(props.get("config.cpuAllocation"))
        values = validate(reservation, limit, shares, current=current, domain=self.name)
        # The whole allocation is sent: servers that store the spec as given (the simulator)
        # would otherwise reset the fields left out.
        merged = {**current.as_dict(), **values}
        spec = vim.vm.ConfigSpec(
            cpuAllocation=allocation_spec(merged, vcpus=props.get("config.hardware.numCPU"))
        )
        self._run_task(
            "change the scheduler parameters of",
            ("poweredOn", "poweredOff", "suspended"),
            lambda: self.vm.ReconfigVM_Task(spec=spec),
            progress,
            timeout,
            cancel_event,
        )

    def dumpxml(self) -> str:
        """The domain XML: the ``.vmx`` downloaded from the datastore and converted."""
        from .datastore_files import download

        vmx_path = self.vmx_path
        datacenter, datacenter_path = _datacenter_of(self.connection, self.vm)
        vmx = download(self.connection, vmx_path, datacenter_path=datacenter_path)
        return self.connection.domxml_from_native(vmx, vmx_path=vmx_path, datacenter_path=datacenter_path)


def _datacenter_of(conn: Connection, vm: Any) -> tuple[Any, str]:
    """The datacenter holding ``vm`` and its inventory path (folders included)."""
    if conn.datacenter is not None and conn.datacenter_path:
        return conn.datacenter, conn.datacenter_path
    with translate("finding the domain's datacenter"):
        obj = retrieve(conn.content, [vm], ["parent"]).get(vm, {}).get("parent")
        while obj is not None and not isinstance(obj, vim.Datacenter):
            obj = retrieve(conn.content, [obj], ["parent"]).get(obj, {}).get("parent")
        if obj is None:
            raise errors.NotFoundError("the domain is in no datacenter")
        datacenter = obj
        names = []
        while obj is not None and obj != conn.content.rootFolder:
            props = retrieve(conn.content, [obj], ["name", "parent"]).get(obj, {})
            names.append(str(props.get("name")))
            obj = props.get("parent")
    return datacenter, "/".join(reversed(names))
