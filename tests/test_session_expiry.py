"""Expired sessions: a transparent new login when credentials can be asked again, else a clear error.

The simulator forgets idle sessions after ``IDLE`` seconds (govmomi drops them after 1-2x
that). Every path to the server is checked: esxnb's bulk inventory reader, pyvmomi calls
(domain look-up, tasks) and the datastore file interface, whose cookie changes with the login.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from esxnb import errors
from esxnb.connection import Connection, connect
from esxnb.datastore_files import download
from esxnb.simulator import Simulator
from helpers import connect_to

pytestmark = pytest.mark.simulator

IDLE = 1.0
EXPIRED = 3.2  # past the simulator's 1-2x idle timeout


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("esx", vms=2, session_idle_timeout=IDLE) as simulator:
        yield simulator


class Counting:
    """An auth callback that answers ``answers`` times (None: always), counting the questions."""

    def __init__(self, sim: Simulator, answers: int | None = None) -> None:
        self.sim = sim
        self.answers = answers
        self.challenges: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, challenge: str) -> tuple[str, str] | None:
        with self._lock:
            self.challenges.append(challenge)
            if self.answers is not None and len(self.challenges) > self.answers:
                return None
        return (self.sim.username, self.sim.password)


def vmx_of(conn: Connection) -> tuple[str, str]:
    frame = conn.domains()
    row = frame.iloc[0]
    return str(row["name"]), str(row["vmx_path"])


def expire(conn: Connection) -> str | None:
    """Wait until the server forgot the session; returns the old cookie."""
    cookie = conn.session.session_cookie
    time.sleep(EXPIRED)
    return cookie


CALLS: dict[str, Callable[[Connection, str, str], object]] = {
    "inventory": lambda conn, name, vmx: len(conn.domains()),
    "pyvmomi": lambda conn, name, vmx: conn.domain(name).state,
    "datastore-file": lambda conn, name, vmx: download(conn, vmx),
}


@pytest.mark.parametrize("path", list(CALLS))
def test_tuple_credentials_log_in_again_transparently(sim: Simulator, path: str) -> None:
    with connect_to(sim) as conn:
        name, vmx = vmx_of(conn)
        before = CALLS[path](conn, name, vmx)
        old_cookie = expire(conn)
        assert CALLS[path](conn, name, vmx) == before
        assert conn.session.session_cookie != old_cookie  # a new session, not a kept-alive one


@pytest.mark.parametrize("path", list(CALLS))
def test_callback_is_asked_again_once(sim: Simulator, path: str) -> None:
    auth = Counting(sim)
    with connect(sim.uri, auth=auth, ca_file=sim.ca_file) as conn:
        name, vmx = vmx_of(conn)
        expire(conn)
        CALLS[path](conn, name, vmx)
        CALLS[path](conn, name, vmx)
    assert auth.challenges == [sim.host, sim.host]


@pytest.mark.parametrize("path", list(CALLS))
def test_callback_that_answers_only_once_gives_a_clear_error(sim: Simulator, path: str) -> None:
    auth = Counting(sim, answers=1)
    conn = connect(sim.uri, auth=auth, ca_file=sim.ca_file)
    try:
        name, vmx = vmx_of(conn)
        expire(conn)
        with pytest.raises(errors.SessionExpiredError) as caught:
            CALLS[path](conn, name, vmx)
        message = str(caught.value)
        assert "expired" in message and sim.host in message
        assert sim.password not in message
        assert len(auth.challenges) == 2  # it was asked, and said nothing
    finally:
        conn.close()


def test_callback_that_raises_gives_a_clear_error(sim: Simulator) -> None:
    answered: list[str] = []

    def once(challenge: str) -> tuple[str, str]:
        if answered:
            raise errors.CredentialError("the form's password was used once and cleared")
        answered.append(challenge)
        return (sim.username, sim.password)

    with connect(sim.uri, auth=once, ca_file=sim.ca_file) as conn:
        name, _ = vmx_of(conn)
        expire(conn)
        with pytest.raises(errors.SessionExpiredError, match="used once and cleared"):
            conn.domain(name)


def test_concurrent_calls_after_expiry_log_in_once(sim: Simulator) -> None:
    auth = Counting(sim)
    with connect(sim.uri, auth=auth, ca_file=sim.ca_file) as conn:
        name, _ = vmx_of(conn)
        expire(conn)
        results: list[object] = []
        failures: list[BaseException] = []
        barrier = threading.Barrier(4)

        def work() -> None:
            barrier.wait()
            try:
                results.append(conn.domain(name).state)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not failures, failures
        assert len(results) == 4
    assert len(auth.challenges) == 2  # one login at connect, ONE more for all four threads


def test_a_long_task_outlives_the_idle_timeout(sim: Simulator) -> None:
    """A task longer than the idle timeout: waiting keeps the session busy, nothing expires."""
    auth = Counting(sim)
    with connect(sim.uri, auth=auth, ca_file=sim.ca_file) as conn:
        name = str(conn.domains()["name"].iloc[-1])
        domain = conn.domain(name)
        if domain.state != "shut off":
            domain.destroy()
        sim.set_task_behaviour("PowerOnVM_Task", duration=EXPIRED, steps=3)
        try:
            domain.start(timeout=30)
        finally:
            sim.reset()
        assert domain.state == "running"
    assert len(auth.challenges) == 1
