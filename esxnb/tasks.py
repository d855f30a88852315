"""Waiting for vSphere tasks, and handling the VM questions that can block them.

The task's ``info`` and the VM's ``runtime.question`` are watched through ONE property
filter on a private PropertyCollector, with ``WaitForUpdatesEx`` calls bounded by
``maxWaitSeconds``: nothing can hang past the timeout, and concurrent waits in other
threads never steal each other's updates.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import closing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from . import errors
from .errors import TaskCancelledError
from ._collect import retrieve
from ._faults import fault_message, to_esxnb_error, translate
from ._updates import follow, long_poll_seconds, next_update

if TYPE_CHECKING:
    from ._protocol import ConnectionLike

__all__ = [
    "wait_for_task",
    "TaskCancelledError",
    "raise_if_cancelled",
    "task_error",
    "handle_question",
    "prepare_vm_for_task",
    "question_choices",
    "next_update",
    "long_poll_seconds",
    "Progress",
    "DEFAULT_TASK_TIMEOUT",
]

log = logging.getLogger("esxnb")

PC = vmodl.query.PropertyCollector
Progress = Callable[[int, str], None]

DEFAULT_TASK_TIMEOUT = 3600.0
# TaskInfo fields watched one by one: the whole ``info`` also carries ``entity``, which some
# servers (the simulator's FileManager tasks) fill with objects pyVmomi refuses to decode.
_TASK_PATHS = (
    "info.state",
    "info.progress",
    "info.error",
    "info.result",
    "info.cancelable",
    "info.description",
)
_STATES = ("queued", "running", "success", "error")


def raise_if_cancelled(cancel_event: threading.Event | None, description: str) -> None:
    """TaskCancelledError when ``cancel_event`` is already set, before ``description`` starts anything."""
    if cancel_event is not None and cancel_event.is_set():
        raise TaskCancelledError(f"{description} was cancelled by the caller before it started")


def question_choices(question: Any) -> tuple[list[tuple[str, str]], str | None]:
    """``([(key, label), ...], default key)`` of a VirtualMachineQuestionInfo."""
    choice = getattr(question, "choice", None)
    infos = list(getattr(choice, "choiceInfo", None) or [])
    choices = [(str(info.key), str(info.label or info.summary or info.key)) for info in infos]
    default_index = getattr(choice, "defaultIndex", None)
    default = None
    if default_index is not None and 0 <= default_index < len(choices):
        default = choices[default_index][0]
    return choices, default


def handle_question(
    conn: ConnectionLike,
    vm: Any,
    question: Any,
    *,
    auto_answer: bool,
    task: Any | None = None,
    vm_name: str | None = None,
) -> bool:
    """Answer ``question`` with its default choice (``auto_answer``) or raise QuestionError.

    Before raising, a blocked ``task`` is cancelled when the server says it can be. Returns
    True when the question was answered.
    """
    choices, default = question_choices(question)
    text = str(getattr(question, "text", "") or "")
    who = f" of domain {vm_name!r}" if vm_name else ""
    if auto_answer and choices and default is not None:
        label = dict(choices)[default]
        log.info("question%s %r: answering with the default %r (auto_answer=1)", who, text, label)
        with translate(f"answering the question{who}"):
            vm.AnswerVM(questionId=question.id, answerChoice=default)
        return True
    cancelled = _cancel(conn, task) if task is not None else False
    task_name = _task_id(task)
    error = errors.QuestionError(text, choices, default=default, task=task_name, cancelled=cancelled)
    if auto_answer:
        # auto_answer cannot help: the server offered no choice or no default.
        reason = "no possible answers" if not choices else "no default answer"
        labels = ", ".join(f"{key}={label}" for key, label in choices) or "none"
        tail = " The task was cancelled." if cancelled else ""
        error.args = (
            f"question blocks the task: {text!r} (choices: {labels}) and it has {reason}, so auto_answer=1 "
            f"cannot answer it; answer it in the vSphere client.{tail}",
        )
    raise error


def prepare_vm_for_task(
    conn: ConnectionLike,
    vm: Any,
    properties: tuple[str, ...] = (),
    *,
    auto_answer: bool | None = None,
    vm_name: str | None = None,
) -> dict[str, Any]:
    """Read ``properties`` of ``vm`` and make sure a new task can start on it.

    As libvirt does before every VM task: a pending question is answered (auto_answer) or
    reported, and tasks still queued or running on the VM are an error.
    """
    wanted = tuple(dict.fromkeys((*properties, "runtime.question", "recentTask")))
    with translate(f"reading domain {vm_name or vm}"):
        props = retrieve(conn.content, [vm], wanted).get(vm)
    if props is None:
        raise errors.NotFoundError(f"domain {vm_name or vm} no longer exists on the server")
    question = props.get("runtime.question")
    if question is not None:
        answer = conn.auto_answer if auto_answer is None else auto_answer
        handle_question(conn, vm, question, auto_answer=answer, vm_name=vm_name)
    recent = props.get("recentTask") or []
    if recent:
        infos = retrieve(conn.content, recent, ["info.state", "info.descriptionId", "info.name"])
        pending = [
            str(p.get("info.descriptionId") or p.get("info.name") or task._moId)
            for task, p in infos.items()
            if str(p.get("info.state")) in ("queued", "running")
        ]
        if pending:
            raise errors.OperationError(
                f"other tasks are pending for domain {vm_name or vm}: {', '.join(pending)}; "
                "wait for them to finish or cancel them"
            )
    return props


def task_error(info: Any, description: str, *, task: str | None = None) -> errors.EsxnbError:
    """The esxnb error for a failed task: its fault's class, the server's message."""
    error = getattr(info, "error", None)
    # pyVmomi hands over a LocalizedMethodFault as the fault itself (localizedMessage -> msg).
    fault = error if isinstance(error, vmodl.MethodFault) else getattr(error, "fault", None)
    message = str(getattr(error, "localizedMessage", None) or "") if error is not None else ""
    if not message:
        message = fault_message(fault) if fault is not None else "unknown error"
    fault_type = type(fault).__name__ if fault is not None else None
    short_type = fault_type.rsplit(".", 1)[-1] if fault_type else None
    text = f"{description} failed: {message}"
    if short_type and short_type not in message:
        text += f" ({short_type})"
    if fault is None:
        return errors.TaskError(text, fault_type=None, task=task)
    if isinstance(fault, vmodl.fault.RequestCanceled):
        return errors.TaskError(f"{description} was cancelled: {message}", fault_type=fault_type, task=task)
    kind = type(to_esxnb_error(fault))
    if kind is errors.ServerFault or issubclass(kind, errors.TaskError):
        cls = errors.TaskError if kind is errors.ServerFault else kind
        return cls(text, fault_type=fault_type, task=task)
    mapped = kind(text)
    mapped.fault_type = fault_type  # type: ignore[attr-defined]
    return mapped


def _task_id(task: Any | None) -> str | None:
    return getattr(task, "_moId", None) if task is not None else None


def _cancel(conn: ConnectionLike, task: Any) -> bool:
    """Cancel ``task`` if the server says it can be cancelled; True when it was."""
    try:
        info = retrieve(conn.content, [task], ["info.cancelable", "info.state"]).get(task, {})
    except errors.EsxnbError:
        info = {}
    if not info.get("info.cancelable") or str(info.get("info.state")) not in ("queued", "running"):
        if info:
            log.warning("task %s is blocked but cannot be cancelled", _task_id(task))
        return False
    try:
        task.CancelTask()
    except vmodl.MethodFault as exc:
        log.warning("cancelling task %s failed: %s", _task_id(task), fault_message(exc))
        return False
    return True


def _message(info: dict[str, Any]) -> str:
    description = info.get("info.description")
    text = getattr(description, "message", None) if description is not None else None
    return str(text or info.get("info.state"))


def wait_for_task(
    conn: ConnectionLike,
    task: Any,
    *,
    progress: Progress | None = None,
    timeout: float | None = None,
    vm: Any | None = None,
    cancel_event: threading.Event | None = None,
    description: str | None = None,
    vm_name: str | None = None,
) -> Any:
    """Wait until ``task`` ends and return its result.

    ``progress(percent, message)`` is called when the task's progress or state changes.
    With ``vm``, a question the VM raises while the task runs is answered with its default
    choice when the connection has ``auto_answer``, else the task is cancelled (when it can
    be) and QuestionError raised. After ``timeout`` seconds (default 1 hour) or once
    ``cancel_event`` is set (checked at least every second), the task is cancelled when the
    server allows it and TaskTimeoutError / TaskCancelledError is raised. Task faults become
    esxnb errors with the server's message.
    """
    description = description or "task"
    limit = DEFAULT_TASK_TIMEOUT if timeout is None else float(timeout)
    object_set = [PC.ObjectSpec(obj=task, skip=False)]
    prop_set = [PC.PropertySpec(type=vim.Task, pathSet=list(_TASK_PATHS))]
    if vm is not None:
        object_set.append(PC.ObjectSpec(obj=vm, skip=False))
        prop_set.append(PC.PropertySpec(type=vim.VirtualMachine, pathSet=["runtime.question"]))

    def stop(reason: str) -> BaseException:
        cancelled = _cancel(conn, task)
        if reason == "cancelled":
            tail = "the task was cancelled" if cancelled else "the task could not be cancelled and goes on"
            return TaskCancelledError(
                f"{description} was stopped by the caller; {tail}",
                task=_task_id(task),
                server_cancelled=cancelled,
            )
        tail = "the task was cancelled" if cancelled else "the task goes on on the server"
        return errors.TaskTimeoutError(
            f"{description} did not finish within {limit:g} s ({tail})",
            fault_type="Timedout",
            task=_task_id(task),
        )

    info: dict[str, Any] = {}
    answered: set[str] = set()
    last_report: tuple[int, str] | None = None
    with closing(
        follow(
            conn,
            PC.FilterSpec(objectSet=object_set, propSet=prop_set),
            description=description,
            deadline=time.monotonic() + limit,
            cancel_event=cancel_event,
            stop=stop,
        )
    ) as changes:
        for object_updates in changes:
            question = None
            for object_update in object_updates:
                for change in object_update.changeSet or []:
                    if change.name in _TASK_PATHS:
                        info[change.name] = change.val if change.op in ("add", "assign") else None
                    elif change.name == "runtime.question":
                        question = change.val if change.op in ("add", "assign") else None
            if question is not None and question.id not in answered:
                if handle_question(
                    conn, vm, question, auto_answer=conn.auto_answer, task=task, vm_name=vm_name
                ):
                    answered.add(question.id)
            state = str(info.get("info.state"))
            if state not in _STATES:
                continue
            if progress is not None:
                percent = 100 if state == "success" else int(info.get("info.progress") or 0)
                report = (percent, _message(info))
                if report != last_report:
                    last_report = report
                    progress(*report)
            if state == "success":
                return info.get("info.result")
            if state == "error":
                raise task_error(vim.TaskInfo(error=info.get("info.error")), description, task=_task_id(task))
    raise AssertionError("unreachable: follow() only ends by raising")
