"""libvirt's lifecycle operations as one table and one implementation.

Each operation is a row of :data:`OPERATIONS`: the power states it starts from, the server
call (a task, or a guest request through VMware tools) and what it waits for. ``Domain``'s
methods are made from the rows (:func:`lifecycle_method`), so they share one body and one
signature: ``(*, progress=None, timeout=..., cancel_event=None)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim, vmodl

from .. import errors
from .._collect import retrieve
from .._faults import translate
from .._updates import follow
from .._vocabulary import STATE_WORDS, TOOLS_RUNNING
from ..errors import TaskCancelledError
from .._vmtasks import DomainLike, require_state, run_task
from ..tasks import DEFAULT_TASK_TIMEOUT, Progress, raise_if_cancelled

__all__ = [
    "Operation",
    "OPERATIONS",
    "lifecycle_method",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "require_state",
    "run_task",
]

log = logging.getLogger("esxnb")

PC = vmodl.query.PropertyCollector

DEFAULT_SHUTDOWN_TIMEOUT = 300.0


@dataclass(frozen=True)
class Operation:
    """One lifecycle operation: ``task`` (a VM method returning a task) or ``guest`` (a guest
    request needing VMware tools; ``wait_for`` the power state that ends it, if any)."""

    name: str
    verb: str
    allowed: tuple[str, ...]
    doc: str
    task: str | None = None
    guest: str | None = None
    wait_for: str | None = None
    via_vcenter: bool = False
    default_timeout: float | None = None


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "start",
            "start",
            ("poweredOff",),
            "Power on a shut-off domain (``virsh start``).",
            task="PowerOnVM_Task",
        ),
        Operation(
            "resume", "resume", ("suspended",), "Power on a suspended (paused) domain.", task="PowerOnVM_Task"
        ),
        Operation(
            "suspend",
            "suspend",
            ("poweredOn",),
            "Suspend a running domain (``virsh suspend``).",
            task="SuspendVM_Task",
        ),
        Operation(
            "reset",
            "reset",
            ("poweredOn",),
            "Hard reset of a running domain (no tools needed).",
            task="ResetVM_Task",
        ),
        Operation(
            "destroy",
            "destroy",
            ("poweredOn", "suspended"),
            "Hard power off (``virsh destroy``); through the managing vCenter when connected to one.",
            task="PowerOffVM_Task",
            via_vcenter=True,
        ),
        Operation(
            "shutdown",
            "shut down",
            ("poweredOn",),
            "Ask the guest to shut down (needs VMware tools) and wait until it is off.\n\n"
            "A guest shutdown has no task: this watches ``runtime.powerState`` for at most ``timeout``\n"
            "seconds (None: do not wait). A set ``cancel_event`` stops the wait with TaskCancelledError;\n"
            "the guest, once asked, goes on shutting down.",
            guest="ShutdownGuest",
            wait_for="poweredOff",
            default_timeout=DEFAULT_SHUTDOWN_TIMEOUT,
        ),
        Operation(
            "reboot",
            "reboot",
            ("poweredOn",),
            "Ask the guest to reboot (needs VMware tools); returns once the request is accepted.\n\n"
            "There is nothing to wait for, so ``timeout`` is unused and ``cancel_event`` only prevents\n"
            "the request when it is set before.",
            guest="RebootGuest",
        ),
    )
}


def vcenter_side(domain: DomainLike) -> tuple[Any, Any]:
    """(connection, vm) to use where libvirt prefers the managing vCenter (destroy, undefine)."""
    conn = domain.connection
    vcenter = conn.vcenter
    if vcenter is None or vcenter is conn:
        return conn, domain.vm
    with translate(f"looking up domain {domain.name!r} in vCenter {vcenter.session.hostname}"):
        vm = vcenter.content.searchIndex.FindByUuid(
            datacenter=vcenter.datacenter, uuid=domain.uuid, vmSearch=True
        )
    if vm is None:
        log.warning(
            "vCenter %s does not know domain %s; acting on the host directly",
            vcenter.session.hostname,
            domain.name,
        )
        return conn, domain.vm
    return vcenter, vm


def _require_tools(domain: DomainLike, operation: str) -> None:
    props = retrieve(
        domain.connection.content,
        [domain.vm],
        ["runtime.powerState", "guest.toolsRunningStatus", "guest.toolsStatus"],
    ).get(domain.vm)
    if props is None:
        raise errors.NotFoundError(
            f"domain {domain.name!r} no longer exists on {domain.connection.session.hostname}"
        )
    require_state(domain.name, str(props.get("runtime.powerState")), ("poweredOn",), operation)
    running = props.get("guest.toolsRunningStatus")
    if running not in TOOLS_RUNNING:
        status = props.get("guest.toolsStatus") or "unknown"
        why = {
            "toolsNotInstalled": "VMware tools are not installed in the guest",
            "toolsNotRunning": "VMware tools are not running in the guest",
        }.get(str(status), f"VMware tools are not running in the guest (tools status {status}, {running})")
        raise errors.ToolsNotAvailableError(
            f"cannot {operation} domain {domain.name!r}: {why}; {operation} needs them "
            "(use destroy() for a hard power off or reset() for a hard reset)"
        )


def _guest_request(domain: DomainLike, op: Operation) -> None:
    _require_tools(domain, op.verb)
    try:
        with translate(f"cannot {op.verb} domain {domain.name!r}"):
            getattr(domain.vm, str(op.guest))()
    except errors.ToolsNotAvailableError as exc:
        raise errors.ToolsNotAvailableError(
            f"cannot {op.verb} domain {domain.name!r}: the server says VMware tools are not available in "
            f"the guest ({exc}); use destroy() for a hard power off or reset() for a hard reset"
        ) from exc


def wait_for_power_state(
    domain: DomainLike,
    wanted: str,
    timeout: float,
    operation: str,
    cancel_event: threading.Event | None = None,
) -> None:
    """Wait until the domain's power state is ``wanted`` (a guest request has no task to watch)."""
    state: Any = None

    def stop(reason: str) -> BaseException:
        if reason == "cancelled":
            return TaskCancelledError(
                f"{operation} of domain {domain.name!r} was stopped by the caller; "
                f"the guest was asked to {operation} and may still do so"
            )
        now = STATE_WORDS.get(str(state), str(state))
        return errors.TaskTimeoutError(
            f"domain {domain.name!r} is still {now} {timeout:g} s after the request to {operation}; "
            "the guest may be ignoring it (destroy() powers it off hard)",
            fault_type="Timedout",
        )

    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=domain.vm, skip=False)],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["runtime.powerState"])],
    )
    changes = follow(
        domain.connection,
        spec,
        description=f"domain {domain.name!r}",
        deadline=time.monotonic() + timeout,
        cancel_event=cancel_event,
        stop=stop,
    )
    with closing(changes):
        for object_updates in changes:
            for object_update in object_updates:
                if object_update.kind == "leave":
                    raise errors.NotFoundError(f"domain {domain.name!r} disappeared while waiting")
                for change in object_update.changeSet or []:
                    if change.name == "runtime.powerState":
                        state = change.val
            if str(state) == wanted:
                return


def run(
    domain: DomainLike,
    op: Operation,
    *,
    progress: Progress | None,
    timeout: float | None,
    cancel_event: threading.Event | None,
) -> None:
    """Carry out ``op`` on ``domain``: the one body behind every lifecycle method."""
    if op.task is not None:
        conn, vm = vcenter_side(domain) if op.via_vcenter else (domain.connection, domain.vm)
        run_task(
            domain,
            op.verb,
            op.allowed,
            lambda target: getattr(target, str(op.task))(),
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
            conn=conn,
            vm=vm,
        )
        return
    raise_if_cancelled(cancel_event, f"{op.verb} of domain {domain.name!r}")
    _guest_request(domain, op)
    if op.wait_for is None or timeout is None:
        if progress is not None:
            progress(0 if op.wait_for else 100, f"guest {op.name} requested")
        return
    if progress is not None:
        progress(0, f"guest {op.name} requested")
    wait_for_power_state(domain, op.wait_for, float(timeout), op.verb, cancel_event)
    if progress is not None:
        progress(100, STATE_WORDS[op.wait_for])


def lifecycle_method(name: str) -> Callable[..., None]:
    """The ``Domain`` method for the operation ``name``."""
    op = OPERATIONS[name]
    default_timeout = op.default_timeout

    def method(
        self: DomainLike,
        *,
        progress: Progress | None = None,
        timeout: float | None = default_timeout,
        cancel_event: threading.Event | None = None,
    ) -> None:
        run(self, op, progress=progress, timeout=timeout, cancel_event=cancel_event)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = op.doc + (
        "\n\n``progress(percent, message)``, ``timeout`` (seconds; default "
        f"{'the task limit, ' + format(DEFAULT_TASK_TIMEOUT, 'g') + ' s' if default_timeout is None else format(default_timeout, 'g') + ' s'}) "
        "and ``cancel_event`` as for every long operation."
    )
    return method
