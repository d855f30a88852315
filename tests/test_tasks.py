"""Waiting for tasks: progress, timeouts, cancellation, questions, task faults (simulator, both modes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pyVmomi import vim, vmodl

from esxnb import errors
from esxnb._collect import retrieve
from esxnb.connection import Connection
from esxnb.domain import Domain
from esxnb.simulator import Simulator
from helpers import connect_to, put_in
from esxnb.tasks import (
    TaskCancelledError,
    prepare_vm_for_task,
    question_choices,
    task_error,
    wait_for_task,
)

pytestmark = pytest.mark.simulator

CHOICES = [("0", "Cancel"), ("1", "I moved it"), ("2", "I copied it")]
QUESTION = "This virtual machine might have been moved or copied."


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=2, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def auto_conn(sim: Simulator) -> Iterator[Connection]:
    connection = connect_to(sim, sim.uri_with(auto_answer=1))
    assert connection.auto_answer
    yield connection
    connection.close()


@pytest.fixture
def dom(sim: Simulator, conn: Connection) -> Iterator[Domain]:
    """The first VM, shut off; the simulator's faults, questions and task behaviours reset afterwards."""
    sim.reset()
    domain = conn.domain(sim.vms()[0]["name"])
    if domain.state != "shut off":
        domain.destroy()
    yield domain
    sim.reset()


def _question(conn: Connection, vm: object) -> object:
    return retrieve(conn.content, [vm], ["runtime.question"])[vm].get("runtime.question")


def _no_leftover_filters(conn: Connection) -> None:
    assert list(conn.content.propertyCollector.filter or []) == []


def _assert_cancelled_on_server(conn: Connection, task_id: str | None) -> None:
    """The server ended the task ``task_id`` as cancelled (so the wait stopped before the work ran)."""
    assert task_id
    task = vim.Task(task_id, conn.si._stub)
    info = retrieve(conn.content, [task], ["info.state", "info.cancelled"])[task]
    assert info["info.state"] == "error" and info["info.cancelled"] is True, info


# Guard against a wait that never ends; how long a wait takes is measured in benchmarks/.
bounded = pytest.mark.timeout(60, func_only=True)


def test_progress_is_reported_while_the_task_runs(sim: Simulator, dom: Domain) -> None:
    sim.set_task_behaviour("PowerOnVM_Task", duration=1.2, steps=4)
    reports: list[tuple[int, str]] = []
    dom.start(progress=lambda percent, message: reports.append((percent, message)))
    assert dom.state == "running"  # at once: start() returned only after the 1.2 s task ended
    percents = [p for p, _ in reports]
    assert percents == sorted(percents)
    assert len(set(percents)) >= 3, reports  # several steps seen, not just start and end
    assert reports[0][0] < 100 and reports[-1] == (100, "success")
    _no_leftover_filters(dom.connection)


def test_result_of_a_task_is_returned(conn: Connection) -> None:
    datastore = retrieve(conn.content, [conn.host], ["datastore"])[conn.host]["datastore"][0]
    browser = retrieve(conn.content, [datastore], ["browser"])[datastore]["browser"]
    task = browser.SearchDatastore_Task(
        datastorePath="[LocalDS_0]", searchSpec=vim.host.DatastoreBrowser.SearchSpec()
    )
    result = wait_for_task(conn, task, timeout=30)
    assert isinstance(result, vim.host.DatastoreBrowser.SearchResults)
    assert result.folderPath.startswith("[LocalDS_0]")


@bounded
def test_timeout_cancels_the_task(sim: Simulator, conn: Connection, dom: Domain) -> None:
    sim.set_task_behaviour("PowerOnVM_Task", duration=6, steps=6)
    with pytest.raises(
        errors.TaskTimeoutError, match=r"did not finish within 1 s \(the task was cancelled\)"
    ) as info:
        dom.start(timeout=1)
    # cancelled on the server before its 6 s were up: the power-on never happened
    _assert_cancelled_on_server(conn, info.value.task)
    assert dom.state == "shut off"
    _no_leftover_filters(dom.connection)


@bounded
def test_cancel_event_stops_and_cancels(sim: Simulator, conn: Connection, dom: Domain) -> None:
    sim.set_task_behaviour("PowerOnVM_Task", duration=6, steps=6)
    task = dom.vm.PowerOnVM_Task()
    event = threading.Event()
    threading.Timer(0.5, event.set).start()
    with pytest.raises(errors.TaskError, match="stopped by the caller; the task was cancelled"):
        wait_for_task(conn, task, cancel_event=event, vm=dom.vm)
    _assert_cancelled_on_server(conn, task._moId)
    assert dom.state == "shut off"


def _set_reservation(conn: Connection, domain: Domain, *, cancel_event: threading.Event) -> None:
    current = domain.scheduler()["reservation"]
    # through the Connection, which hands cancel_event on to the Domain
    conn.set_scheduler(domain, reservation=current + 100, cancel_event=cancel_event)


# (operation, task method, state before = state after a cancelled run)
CANCELLABLE = [
    ("start", "PowerOnVM_Task", "shut off"),
    ("resume", "PowerOnVM_Task", "paused"),
    ("suspend", "SuspendVM_Task", "running"),
    ("reset", "ResetVM_Task", "running"),
    ("destroy", "PowerOffVM_Task", "running"),
    ("set_scheduler", "ReconfigVM_Task", "shut off"),
]


@bounded
@pytest.mark.parametrize(("operation", "method", "state"), CANCELLABLE, ids=[c[0] for c in CANCELLABLE])
def test_cancel_event_cancels_each_domain_operation(
    sim: Simulator, conn: Connection, dom: Domain, operation: str, method: str, state: str
) -> None:
    put_in(dom, state)
    reservation = dom.scheduler()["reservation"]
    sim.set_task_behaviour(method, duration=4, steps=8)
    event = threading.Event()
    timer = threading.Timer(0.5, event.set)
    timer.start()
    with pytest.raises(
        TaskCancelledError, match=r"was stopped by the caller; the task was cancelled"
    ) as info:
        if operation == "set_scheduler":
            _set_reservation(conn, dom, cancel_event=event)
        else:
            getattr(dom, operation)(cancel_event=event)
    timer.cancel()
    error = info.value
    assert isinstance(error, errors.TaskError) and error.server_cancelled
    # cancelled on the server before the 4 s task did its work: nothing changed
    _assert_cancelled_on_server(conn, error.task)
    sim.set_task_behaviour(method, duration=0, steps=1)
    assert dom.state == state
    assert dom.scheduler()["reservation"] == reservation
    _no_leftover_filters(conn)


def test_cancel_event_set_beforehand_starts_no_task(conn: Connection, dom: Domain) -> None:
    event = threading.Event()
    event.set()
    before = retrieve(conn.content, [dom.vm], ["recentTask"])[dom.vm].get("recentTask") or []
    with pytest.raises(
        TaskCancelledError, match=r"start of domain .* was cancelled by the caller before it started"
    ):
        dom.start(cancel_event=event)
    after = retrieve(conn.content, [dom.vm], ["recentTask"])[dom.vm].get("recentTask") or []
    assert len(after) == len(before)
    with pytest.raises(TaskCancelledError, match="before it started") as info:
        dom.reboot(cancel_event=event)  # checked before the tools check, nothing asked of the guest
    assert info.value.task is None and not info.value.server_cancelled
    assert dom.state == "shut off"


def test_an_unset_cancel_event_changes_nothing(sim: Simulator, dom: Domain) -> None:
    sim.set_task_behaviour("PowerOnVM_Task", duration=1.2, steps=3)
    dom.start(cancel_event=threading.Event())
    assert dom.state == "running"  # at once: start() waited for the 1.2 s task to end


def test_define_cancelled_while_registering_removes_the_upload(sim: Simulator, conn: Connection) -> None:
    from esxnb.datastore_files import exists

    name = "esxnb-cancelled-define"
    xml = (
        f"<domain type='vmware'><name>{name}</name><memory unit='KiB'>262144</memory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os><devices>"
        f"<disk type='file' device='disk'><source file='[LocalDS_0] {name}/disk.vmdk'/>"
        "<target dev='sda' bus='scsi'/></disk><controller type='scsi' index='0' model='lsilogic'/>"
        "</devices></domain>"
    )
    sim.set_task_behaviour("RegisterVM_Task", duration=4, steps=4)
    event = threading.Event()
    timer = threading.Timer(0.5, event.set)
    timer.start()
    try:
        with pytest.raises(
            TaskCancelledError, match=r"registration of domain .* the task was cancelled"
        ) as info:
            conn.define(xml, cancel_event=event)
    finally:
        timer.cancel()
        sim.set_task_behaviour("RegisterVM_Task", duration=0, steps=1)
    assert "was removed again" in str(info.value)
    assert not exists(conn, f"[LocalDS_0] {name}/{name}.vmx")
    with pytest.raises(errors.NotFoundError):
        conn.domain(name)


def test_question_without_auto_answer_raises_and_cancels(
    sim: Simulator, conn: Connection, dom: Domain
) -> None:
    sim.add_question(dom.name, QUESTION, choices=CHOICES, default="2")
    with pytest.raises(errors.QuestionError) as info:
        dom.start()
    error = info.value
    assert error.question == QUESTION
    assert error.choices == CHOICES
    assert error.default == "2"
    assert error.cancelled is True
    assert "auto_answer=1" in str(error) and "I copied it" in str(error)
    time.sleep(0.3)
    assert dom.state == "shut off"
    assert _question(conn, dom.vm) is None
    _no_leftover_filters(conn)


def test_question_with_auto_answer_takes_the_default(
    sim: Simulator, auto_conn: Connection, dom: Domain
) -> None:
    sim.add_question(dom.name, QUESTION, choices=CHOICES, default="2")
    domain = auto_conn.domain(dom.uuid)
    reports: list[tuple[int, str]] = []
    domain.start(progress=lambda p, m: reports.append((p, m)))
    assert domain.state == "running"
    assert _question(auto_conn, domain.vm) is None
    assert reports[-1] == (100, "success")


def test_question_whose_default_cancels_fails_with_the_servers_words(
    sim: Simulator, auto_conn: Connection, dom: Domain
) -> None:
    sim.add_question(dom.name, QUESTION, choices=CHOICES, default="0", cancel_choices=["0"])
    with pytest.raises(errors.TaskError, match="cancelled"):
        auto_conn.domain(dom.name).start()
    assert dom.state == "shut off"


def test_question_without_default_cannot_be_auto_answered(
    sim: Simulator, auto_conn: Connection, dom: Domain
) -> None:
    sim.add_question(dom.name, QUESTION, choices=CHOICES, default=None)
    with pytest.raises(errors.QuestionError, match="no default answer") as info:
        auto_conn.domain(dom.name).start()
    assert info.value.default is None and info.value.cancelled is True
    assert info.value.question == QUESTION and "cannot answer it" in str(info.value)
    assert dom.state == "shut off"


def test_pending_question_is_handled_before_a_new_task(
    sim: Simulator, conn: Connection, auto_conn: Connection, dom: Domain
) -> None:
    sim.add_question(dom.name, QUESTION, choices=CHOICES, default="1")
    task = dom.vm.PowerOnVM_Task()  # started elsewhere: blocks on the question
    deadline = time.monotonic() + 5
    while _question(conn, dom.vm) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(errors.QuestionError) as info:
        prepare_vm_for_task(conn, dom.vm, vm_name=dom.name)
    assert info.value.cancelled is False  # not our task: left alone
    assert _question(conn, dom.vm) is not None
    prepare_vm_for_task(auto_conn, dom.vm, vm_name=dom.name)  # answers with the default
    assert wait_for_task(conn, task, timeout=10) is None
    assert dom.state == "running"


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        ("InsufficientResourcesFault", errors.TaskError),
        ("InvalidState", errors.InvalidStateError),
        ("FileNotFound", errors.NotFoundError),
        ("ToolsUnavailable", errors.ToolsNotAvailableError),
    ],
)
def test_task_faults_become_esxnb_errors(sim: Simulator, dom: Domain, fault: str, error_class: type) -> None:
    sim.inject_fault("PowerOnVM_Task", fault, f"the server says no ({fault})", task=True, count=1)
    with pytest.raises(error_class) as info:
        dom.start()
    assert type(info.value) is error_class
    assert f"the server says no ({fault})" in str(info.value)
    assert f"start of domain {dom.name!r} failed" in str(info.value)
    assert getattr(info.value, "fault_type", "").endswith(fault)
    dom.start()  # count=1: the next call works
    assert dom.state == "running"


def test_method_faults_become_esxnb_errors(sim: Simulator, dom: Domain) -> None:
    sim.inject_fault("PowerOnVM_Task", "InvalidState", "host busy", task=False, count=1)
    with pytest.raises(errors.InvalidStateError, match="host busy"):
        dom.start()
    assert dom.state == "shut off"


# -- pieces that need no server ---------------------------------------------------------------


def test_question_choices_reads_the_default_index() -> None:
    question = vim.vm.QuestionInfo(
        id="q1",
        text="Really?",
        choice=vim.option.ChoiceOption(
            choiceInfo=[
                vim.ElementDescription(key="a", label="Yes"),
                vim.ElementDescription(key="b", label="No"),
            ],
            defaultIndex=1,
        ),
    )
    assert question_choices(question) == ([("a", "Yes"), ("b", "No")], "b")
    question.choice.defaultIndex = None
    assert question_choices(question) == ([("a", "Yes"), ("b", "No")], None)


def test_task_error_maps_known_faults_and_keeps_the_message() -> None:
    info = vim.TaskInfo(error=vim.fault.InvalidPowerState(msg="in state poweredOff"))
    error = task_error(info, "suspend of domain 'x'", task="task-7")
    assert isinstance(error, errors.InvalidStateError)
    assert str(error) == "suspend of domain 'x' failed: in state poweredOff (InvalidPowerState)"
    cancelled = task_error(vim.TaskInfo(error=vmodl.fault.RequestCanceled(msg="canceled by user")), "start")
    assert type(cancelled) is errors.TaskError and "was cancelled: canceled by user" in str(cancelled)
    unknown = task_error(vim.TaskInfo(error=None), "start", task="task-9")
    assert type(unknown) is errors.TaskError and unknown.task == "task-9" and "unknown error" in str(unknown)
