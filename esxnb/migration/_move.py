"""The move itself: a relocation task on the vCenter, then where the domain is, read back."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from .. import errors
from .._collect import retrieve
from .._faults import fault_message, to_esxnb_error, translate
from ..errors import MigrationCancelledError, MigrationTimeoutError, TaskCancelledError
from ..tasks import Progress, raise_if_cancelled, wait_for_task
from ._checks import Plan, Target, fault_name, name_of_host, plan_migration, validate

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["MigrationResult", "migrate"]


@dataclass(frozen=True)
class MigrationResult:
    """A finished migration. ``validated`` tells whether the vCenter checked it beforehand
    (``ServiceInstance.ValidateMigration``); ``warnings`` are that check's warnings."""

    domain: str
    source_host: str
    destination_host: str
    duration_s: float
    uuid: str = ""
    validated: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)


def migrate(
    source: ConnectionLike,
    domain: Any,
    target: Target,
    progress: Progress | None,
    timeout: float | None,
    cancel_event: threading.Event | None,
) -> MigrationResult:
    plan = plan_migration(source, domain, target)
    validated, warnings = validate(plan)
    try:
        raise_if_cancelled(cancel_event, f"migration of {plan.name}")
    except TaskCancelledError as exc:
        raise MigrationCancelledError(f"{exc}; the domain stays on {plan.source_host_name}") from None
    if progress is not None:
        progress(0, f"migrating {plan.name} from {plan.source_host_name} to {plan.destination_host_name}")
    description = f"migration of {plan.name}"
    started = time.monotonic()
    spec = vim.vm.RelocateSpec(host=plan.destination_host, pool=plan.pool)
    with translate(description):
        try:
            task = plan.vm.RelocateVM_Task(spec=spec)
        except vmodl.MethodFault as exc:
            raise errors.MigrationError(
                f"{description} failed: {fault_message(exc)} ({fault_name(exc)}); {_still_on(plan)}"
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            # the request may have reached vCenter and run: say where the domain is now
            lost = to_esxnb_error(exc, context=f"{description} failed")
            raise errors.MigrationError(
                f"{lost} (the answer was lost; the relocation may have run); {_still_on(plan)}"
            ) from exc
    try:
        wait_for_task(
            plan.vcenter,
            task,
            progress=progress,
            timeout=timeout,
            vm=plan.vm,
            cancel_event=cancel_event,
            description=description,
            vm_name=plan.name,
        )
    except TaskCancelledError as exc:
        raise MigrationCancelledError(
            f"{exc}; {_still_on(plan)}", task=exc.task, server_cancelled=exc.server_cancelled
        ) from exc
    except errors.TaskTimeoutError as exc:
        raise MigrationTimeoutError(
            f"{exc}; the domain is on {_where(plan)} for now", fault_type=exc.fault_type, task=exc.task
        ) from exc
    except errors.EsxnbError as exc:
        raise errors.MigrationError(f"{exc}; {_still_on(plan)}") from exc
    duration = time.monotonic() - started

    now_on = _current_host(plan)
    if now_on is None or now_on._moId != plan.destination_host._moId:
        where = name_of_host(plan.vcenter, now_on) if now_on is not None else "no host"
        raise errors.MigrationError(
            f"the relocation task of {plan.name} succeeded, but vCenter {plan.vcenter.session.hostname} "
            f"shows the domain on {where}, not on {plan.destination_host_name}"
        )
    return MigrationResult(
        domain=plan.name,
        source_host=plan.source_host_name,
        destination_host=plan.destination_host_name,
        duration_s=round(duration, 3),
        uuid=plan.uuid,
        validated=validated,
        warnings=warnings,
    )


def _current_host(plan: Plan) -> Any | None:
    return retrieve(plan.vcenter.content, [plan.vm], ["runtime.host"]).get(plan.vm, {}).get("runtime.host")


def _where(plan: Plan) -> str:
    try:
        host = _current_host(plan)
    except errors.EsxnbError as exc:
        return f"an unknown host (cannot read it back: {exc})"
    return name_of_host(plan.vcenter, host) if host is not None else "no host"


def _still_on(plan: Plan) -> str:
    """Where a failed migration left the domain, read from the server."""
    where = _where(plan)
    if where == plan.source_host_name:
        return f"the domain is still on {where}"
    return f"the domain is now on {where}"
