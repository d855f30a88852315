"""Running a task on one VM as libvirt's domain operations do: the power state checked first
(a clear error naming the state and what is expected), questions the VM asks and a caller's
cancel handled while waiting. Shared by every kind that acts on a domain (lifecycle,
snapshots, reconfiguration)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from . import errors
from ._faults import translate
from ._vocabulary import STATE_WORDS
from .tasks import Progress, prepare_vm_for_task, raise_if_cancelled, wait_for_task

if TYPE_CHECKING:
    from ._protocol import ConnectionLike

__all__ = ["DomainLike", "require_state", "run_task"]


class DomainLike(Protocol):
    connection: ConnectionLike
    vm: Any
    name: str
    uuid: str


def require_state(name: str, power_state: str, allowed: tuple[str, ...], operation: str) -> None:
    """InvalidStateError unless ``power_state`` is one of ``allowed``."""
    if power_state not in allowed:
        words = " or ".join(STATE_WORDS[s] for s in allowed)
        raise errors.InvalidStateError(
            f"cannot {operation} domain {name!r}: it is {STATE_WORDS.get(power_state, power_state)}, "
            f"expecting {words}"
        )


def run_task(
    domain: DomainLike,
    operation: str,
    allowed: tuple[str, ...],
    call: Callable[[Any], Any],
    *,
    progress: Progress | None,
    timeout: float | None,
    cancel_event: threading.Event | None,
    conn: Any | None = None,
    vm: Any | None = None,
) -> Any:
    """Check the power state, start the task ``call(vm)`` and wait for it (questions, cancel, timeout)."""
    conn = conn or domain.connection
    vm = vm or domain.vm
    # "change the scheduler parameters of" already ends in "of"
    description = f"{operation.removesuffix(' of')} of domain {domain.name!r}"
    raise_if_cancelled(cancel_event, description)
    props = prepare_vm_for_task(conn, vm, ("runtime.powerState",), vm_name=domain.name)
    require_state(domain.name, str(props.get("runtime.powerState")), allowed, operation)
    raise_if_cancelled(cancel_event, description)
    with translate(f"cannot {operation} domain {domain.name!r}"):
        task = call(vm)
    return wait_for_task(
        conn,
        task,
        progress=progress,
        timeout=timeout,
        vm=vm,
        cancel_event=cancel_event,
        description=description,
        vm_name=domain.name,
    )
