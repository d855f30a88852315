"""A misbehaving network or server: timeouts, dropped connections, injected faults, lost answers.

Traffic goes through :class:`tests.tcpproxy.TCPProxy` on loopback, which can delay answers,
hold them back (a server that stops answering mid-call), reset connections (a dropped
connection, a server going away) and come back. The simulator's own control API slows chosen
SOAP methods and makes them (or their tasks) fail.

"Nothing half-done" is checked against the server's truth, read over a separate direct
connection: a define either registers the domain with its VMX or leaves neither; a migration
error says where the domain really is.
"""

from __future__ import annotations

import threading
import time
import uuid as uuid_module
from collections.abc import Iterator

import pytest
from pyVmomi import vim

from esxnb import errors
from esxnb._collect import retrieve
from esxnb.connection import Connection, connect
from esxnb.datastore_files import delete, exists
from esxnb.simulator import Simulator

from tcpproxy import TCPProxy

pytestmark = pytest.mark.simulator

TIMEOUT = 2.0  # the request timeout of connections through the proxy
# A hang guard for tests of timeouts: they assert which error came, never how long it took.
bounded = pytest.mark.timeout(60, func_only=True)
NO_ANSWER = "the server did not answer within"


def no_answer_within(seconds: float) -> str:
    """The timeout message, naming the request timeout that ran out."""
    return rf"the server did not answer within {seconds:g} s \(the request timeout"


# -- an ESX host over TLS, through the proxy ---------------------------------------------------


@pytest.fixture(scope="module")
def esx() -> Iterator[Simulator]:
    with Simulator("esx", vms=2) as sim:
        yield sim


@pytest.fixture()
def proxy(esx: Simulator) -> Iterator[TCPProxy]:
    with TCPProxy(esx.host, esx.port) as px:
        yield px


@pytest.fixture()
def conn(esx: Simulator, proxy: TCPProxy) -> Iterator[Connection]:
    esx.reset()
    # the simulator's certificate names 127.0.0.1, so TLS is verified through the proxy too
    connection = connect(
        f"esx://127.0.0.1:{proxy.port}/",
        auth=(esx.username, esx.password),
        ca_file=esx.ca_file,
        timeout=TIMEOUT,
    )
    yield connection
    esx.reset()
    proxy.forward()
    connection.close()


def shut_off(conn: Connection, name: str) -> None:
    domain = conn.domain(name)
    if domain.state != "shut off":
        domain.destroy()


@bounded
def test_server_that_stops_answering_times_out_then_the_connection_recovers(
    conn: Connection, proxy: TCPProxy
) -> None:
    assert len(conn.domains()) == 2
    proxy.stall()
    with pytest.raises(
        errors.TimeoutError, match=f"cannot read the inventory of 127.0.0.1: {no_answer_within(TIMEOUT)}"
    ) as caught:
        conn.domains()
    assert isinstance(caught.value, errors.ConnectionFailedError)
    proxy.forward()  # the held-back answer is released now: it must not be taken for the next one
    assert len(conn.domains()) == 2
    assert conn.domain(conn.domains()["name"].iloc[0]).state in ("running", "shut off", "paused")


@bounded
def test_connection_dropped_mid_call_fails_fast_then_recovers(conn: Connection, proxy: TCPProxy) -> None:
    conn.domains()
    proxy.stall()
    timer = threading.Timer(0.3, proxy.cut)
    timer.start()
    try:
        with pytest.raises(errors.ConnectionFailedError) as caught:
            conn.domains()
    finally:
        timer.join()
    # a reset is reported as such, at once, not taken for a server that stopped answering
    assert not isinstance(caught.value, errors.TimeoutError)
    assert NO_ANSWER not in str(caught.value)
    # while the server is unreachable every call fails cleanly...
    with pytest.raises(errors.ConnectionFailedError):
        conn.domains()
    # ...and once it is back, the same Connection works again
    proxy.forward()
    assert len(conn.domains()) == 2


def test_answer_cut_mid_stream_is_a_connection_failure(conn: Connection, proxy: TCPProxy) -> None:
    conn.domains()
    proxy.cut_after(60)  # every answer is cut after 60 bytes, retries included
    with pytest.raises(errors.ConnectionFailedError):
        conn.domains()
    with pytest.raises(errors.ConnectionFailedError):
        conn.domain("no matter")
    proxy.forward()
    assert len(conn.domains()) == 2


def test_first_call_after_the_idle_connection_was_dropped_works(conn: Connection, proxy: TCPProxy) -> None:
    """A server restart, a load balancer or NAT closing idle connections: the next call must work.

    Nothing was in flight, so nothing can have been half-done; the stale pooled connection
    must be noticed and replaced rather than reported as a failure of the next call.
    """
    names = list(conn.domains()["name"])
    for call in (lambda: conn.domain(names[0]).name, lambda: list(conn.domains()["name"])):
        proxy.cut()  # resets the idle keep-alive connections
        proxy.forward()  # the server is back at once
        assert call() in (names[0], names)


@bounded
def test_slow_answers_within_the_timeout_work(esx: Simulator, conn: Connection, proxy: TCPProxy) -> None:
    proxy.forward(delay=0.3)
    assert len(conn.domains()) == 2
    proxy.forward()
    impatient = connect(esx.uri, auth=(esx.username, esx.password), ca_file=esx.ca_file, timeout=TIMEOUT / 4)
    try:
        esx.set_delay("RetrievePropertiesEx", TIMEOUT / 2)
        assert len(conn.domains()) == 2
        # the same answer really was slow: a connection with a quarter of the timeout gives up on it
        with pytest.raises(errors.TimeoutError, match=no_answer_within(TIMEOUT / 4)):
            impatient.domains()
    finally:
        esx.clear_faults()
        impatient.close()


@bounded
def test_a_method_slower_than_the_timeout_times_out(esx: Simulator, conn: Connection) -> None:
    esx.set_delay("RetrievePropertiesEx", TIMEOUT + 1)
    with pytest.raises(errors.TimeoutError, match=no_answer_within(TIMEOUT)):
        conn.domains()
    esx.clear_faults()
    time.sleep(1.2)  # let the server finish the delayed call, so it doesn't overlap the next test
    assert len(conn.domains()) == 2


def test_task_longer_than_the_request_timeout_is_waited_for(esx: Simulator, conn: Connection) -> None:
    """The request timeout bounds each request, not a task: long polls must stay below it."""
    name = conn.domains()["name"].iloc[0]
    shut_off(conn, name)
    esx.set_task_behaviour("PowerOnVM_Task", duration=TIMEOUT * 2, steps=1)
    domain = conn.domain(name)
    domain.start(timeout=TIMEOUT * 5)
    assert domain.state == "running"


@pytest.mark.timeout(30, func_only=True)  # far less than the task's 60 s: the wait must end by itself
def test_task_that_never_finishes_is_bounded_and_cancelled(esx: Simulator, conn: Connection) -> None:
    name = conn.domains()["name"].iloc[-1]
    shut_off(conn, name)
    esx.set_task_behaviour("PowerOnVM_Task", duration=60, steps=10)
    with pytest.raises(
        errors.TaskTimeoutError, match=r"did not finish within 1 s \(the task was cancelled\)"
    ) as caught:
        conn.domain(name).start(timeout=1)
    task = vim.Task(caught.value.task, conn.si._stub)
    info = retrieve(conn.content, [task], ["info.state", "info.cancelled"])[task]
    assert info["info.state"] == "error" and info["info.cancelled"] is True, info
    assert conn.domain(name).state == "shut off"  # cancelled before the work started


# -- the server's faults, with its own text ----------------------------------------------------


@pytest.mark.parametrize(
    "fault,error",
    [
        ("InvalidState", errors.InvalidStateError),
        ("NotAuthenticated", errors.SessionExpiredError),
        ("NoPermission", errors.ServerFault),
        ("SystemError", errors.ServerFault),
        ("RequestCanceled", errors.TaskError),
    ],
)
def test_method_fault_keeps_the_server_text(
    esx: Simulator, conn: Connection, fault: str, error: type
) -> None:
    text = f"injected {fault} {uuid_module.uuid4().hex[:8]}"
    # NotAuthenticated is retried once after logging in again: make it stick
    esx.inject_fault("RetrievePropertiesEx", fault, text, count=None if fault == "NotAuthenticated" else 1)
    with pytest.raises(error) as caught:
        conn.domains()
    if fault != "NotAuthenticated":  # that one says the session is gone, in esxnb's words
        assert text in str(caught.value)
        assert fault in str(caught.value) or getattr(caught.value, "fault_type", "") == fault
    esx.clear_faults()
    assert len(conn.domains()) == 2


@pytest.mark.parametrize(
    "fault,error",
    [
        ("GenericVmConfigFault", errors.TaskError),
        ("InsufficientResourcesFault", errors.TaskError),
        ("InvalidState", errors.InvalidStateError),
        ("RequestCanceled", errors.TaskError),
    ],
)
def test_failing_task_keeps_the_server_text(
    esx: Simulator, conn: Connection, fault: str, error: type
) -> None:
    name = conn.domains()["name"].iloc[0]
    shut_off(conn, name)
    text = f"the host refuses: {fault}"
    esx.inject_fault("PowerOnVM_Task", fault, text, task=True, count=1)
    with pytest.raises(error) as caught:
        conn.domain(name).start()
    message = str(caught.value)
    assert text in message and name in message
    assert conn.domain(name).state == "shut off"


# -- lost answers of operations that change things: nothing half-done ------------------------
# Plain http, so the proxy can recognise the request whose answer it loses.


@pytest.fixture(scope="module")
def vc() -> Iterator[Simulator]:
    with Simulator("vpx", transport="http", clusters=0, standalone_hosts=2, vms=1) as sim:
        yield sim


@pytest.fixture()
def vc_proxy(vc: Simulator) -> Iterator[TCPProxy]:
    vc.reset()
    with TCPProxy(vc.host, vc.port) as px:
        yield px
    vc.reset()


def vc_uri(port: int, path: str) -> str:
    return f"vpx://127.0.0.1:{port}/{path}?transport=http"


@pytest.fixture()
def truth(vc: Simulator) -> Iterator[Connection]:
    """A direct connection, to read what the server really did."""
    with connect(vc_uri(vc.port, "DC0"), auth=(vc.username, vc.password)) as direct:
        yield direct


def domain_xml(name: str) -> str:
    return (
        f"<domain type='vmware'><name>{name}</name><uuid>{uuid_module.uuid4()}</uuid>"
        "<memory unit='KiB'>524288</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
        f"<devices><disk type='file' device='disk'><source file='[LocalDS_0] {name}/disk.vmdk'/>"
        "<target dev='sda' bus='scsi'/></disk></devices></domain>"
    )


def remove_domain(conn: Connection, name: str) -> None:
    try:
        conn.domain(name).undefine()
    except errors.NotFoundError:
        pass
    try:
        delete(conn, f"[LocalDS_0] {name}")
    except errors.EsxnbError:
        pass


@pytest.mark.parametrize("lose", ["cut", "stall"])
def test_define_whose_registration_answer_is_lost_is_not_half_done(
    vc: Simulator, vc_proxy: TCPProxy, truth: Connection, lose: str
) -> None:
    """The server registers the domain, but its answer never arrives.

    The outcome is then unknown to the client: it must not delete the VMX of a domain the
    server did register (that leaves a registered domain without its VMX), and what it says
    must match what the server holds.
    """
    name = f"esxnb-lost-{lose}"
    vmx_path = f"[LocalDS_0] {name}/{name}.vmx"
    conn = connect(vc_uri(vc_proxy.port, "DC0/DC0_H0"), auth=(vc.username, vc.password), timeout=TIMEOUT)
    try:
        vc_proxy.on_request(b"RegisterVM_Task", then=lose)
        try:
            conn.define(domain_xml(name))
        except errors.EsxnbError as exc:
            outcome: errors.EsxnbError | None = exc
        else:
            outcome = None
        assert vc_proxy.triggered.is_set()
        vc_proxy.forward()
        time.sleep(0.3)  # let stalled requests reach the server
        try:
            truth.domain(name)
        except errors.NotFoundError:
            registered = False
        else:
            registered = True
        vmx_there = exists(truth, vmx_path)
        # never a registered domain without its VMX, nor an orphan VMX
        assert (registered, vmx_there) in ((True, True), (False, False)), (
            f"half-done define: registered={registered}, VMX present={vmx_there}; define said: {outcome}"
        )
        if outcome is not None:
            assert isinstance(outcome, errors.ConnectionFailedError)
            message = str(outcome)
            assert name in message
            assert "removed again" not in message or not registered
        # and the same connection goes on working
        assert name in set(conn.domains()["name"]) or not registered
    finally:
        conn.close()
        remove_domain(truth, name)


def test_migration_whose_answer_is_lost_says_where_the_domain_is(
    vc: Simulator, vc_proxy: TCPProxy, truth: Connection
) -> None:
    with connect(vc_uri(vc.port, "DC0"), auth=(vc.username, vc.password)) as dc:
        frame = dc.domains()
    row = frame.iloc[0]
    source, target = row["host"], ({"DC0_H0", "DC0_H1"} - {row["host"]}).pop()
    auth = (vc.username, vc.password)
    with connect(vc_uri(vc_proxy.port, f"DC0/{source}"), auth=auth, timeout=TIMEOUT) as src:
        vc_proxy.on_request(b"RelocateVM_Task", then="cut")
        with pytest.raises(errors.MigrationError) as caught:
            src.migrate(row["name"], vc_uri(vc_proxy.port, f"DC0/{target}"), auth=auth)
        assert vc_proxy.triggered.is_set()
        now_on = truth.domain(row["name"]).host_name
        assert f"the domain is now on {now_on}" in str(caught.value) or (
            now_on == source and f"the domain is still on {source}" in str(caught.value)
        )
        assert now_on == target  # the server did move it; the error says so
        assert len(src.domains()) >= 0  # the source connection still works
