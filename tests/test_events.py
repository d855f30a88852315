"""Events and tasks on the simulator: operations done through raw pyVmomi appear with the right
type, user, entity and time, filtered by each argument; paging over thousands of events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from esxnb import errors
from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.tasks import wait_for_task
from helpers import connect_to

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("vpx", hosts=2, vms=2) as s:
        yield s


@pytest.fixture(scope="module")
def conn(sim: Simulator) -> Iterator[Connection]:
    with connect_to(sim, f"vpx://{sim.host}:{sim.port}/") as c:
        yield c


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_power_operations_are_events_and_tasks_with_user_entity_and_time(
    conn: Connection, sim: Simulator
) -> None:
    name = conn.domains()["name"].iloc[0]
    vm = conn.domain(name).vm
    before = _now()
    wait_for_task(conn, vm.PowerOffVM_Task())  # raw pyVmomi
    wait_for_task(conn, vm.PowerOnVM_Task())
    wait_for_task(conn, vm.CreateSnapshot_Task(name="evt", memory=False, quiesce=False))
    after = _now()
    events = conn.events(since=before)
    power = events[events["type"].isin(["VmPoweredOffEvent", "VmPoweredOnEvent"])]
    assert list(power["type"]) == ["VmPoweredOffEvent", "VmPoweredOnEvent"]
    assert set(power["vm"]) == {name} and set(power["user"]) == {sim.username}
    assert power["time"].between(before, after).all()
    assert set(conn.events(since=before, types="power")["type"]) >= {"VmPoweredOffEvent", "VmPoweredOnEvent"}
    snapshots = conn.events(since=before, types="snapshot")
    assert len(snapshots) == 1 and "createSnapshot" in snapshots.iloc[0]["message"]
    assert (
        conn.events(until=before - dt.timedelta(seconds=1), types="power").empty
        or (conn.events(until=before - dt.timedelta(seconds=1))["time"] < before).all()
    )
    assert conn.events(since=before, users="somebody-else").empty
    assert len(conn.events(since=before, users=sim.username)) == len(events)
    on_vm = conn.events(since=before, entity=name, recursive=False)
    assert set(on_vm["vm"]) == {name} and len(on_vm) >= 4
    tasks = conn.tasks(since=before)
    assert list(tasks["name"]) == [
        "VirtualMachine.powerOff",
        "VirtualMachine.powerOn",
        "VirtualMachine.createSnapshot",
    ]
    assert (
        set(tasks["entity"]) == {name}
        and set(tasks["user"]) == {sim.username}
        and set(tasks["state"]) == {"success"}
    )
    assert conn.tasks(since=before, states="error").empty
    assert tasks["duration_s"].ge(0).all()
    assert set(conn.recent_tasks()["moref"]) >= set(tasks["moref"])


def test_thousands_of_events_are_paged(conn: Connection) -> None:
    name = conn.domains()["name"].iloc[1]
    vm = conn.domain(name).vm
    before = _now()
    for _ in range(600):  # 600 power-offs and -ons: 2,400 power events, 1,200 task events
        wait_for_task(conn, vm.PowerOffVM_Task())
        wait_for_task(conn, vm.PowerOnVM_Task())
    events = conn.events(since=before, entity=name)
    assert len(events) >= 3600, len(events)  # more than three ReadNextEvents pages, and 0.24's 1,000
    assert events["key"].is_unique and events["time"].is_monotonic_increasing
    assert len(conn.events(since=before, entity=name, limit=10)) == 10


def test_wrong_arguments_say_what_is_allowed(conn: Connection) -> None:
    with pytest.raises(errors.ValidationError, match="unknown event type 'powr'.*power, migration"):
        conn.events(types="powr")
    with pytest.raises(errors.ValidationError, match="unknown task state"):
        conn.tasks(states="done")
    with pytest.raises(errors.NotFoundError, match="no VM or host named"):
        conn.events(entity="nope")


def test_esxnb_operations_leave_what_a_vcenter_records(sim: Simulator, conn: Connection) -> None:
    import re

    before = _now()
    with connect_to(sim) as on_host:
        name = on_host.domains()["name"].iloc[0]
        domain = on_host.domain(name)
        domain.set_scheduler(reservation=50)
        xml = domain.dumpxml().replace(f"<name>{name}</name>", "<name>defined-for-events</name>")
        on_host.define(re.sub(r"\s*<uuid>[^<]*</uuid>", "", xml))
        destinations = on_host.migration_destinations()
        target = destinations[destinations["name"] != domain.host_name]["path"].iloc[0]
        on_host.migrate(name, target)
    assert set(conn.events(since=before, types="config")["vm"]) >= {name}
    assert "defined-for-events" in set(conn.events(since=before, types="lifecycle")["vm"])
    moved = conn.events(since=before, types="migration")
    assert list(moved["vm"]) == [name] and "completed" in moved.iloc[0]["message"]
    assert {"VirtualMachine.reconfigVm", "VirtualMachine.relocateVm"} <= set(conn.tasks(since=before)["name"])
