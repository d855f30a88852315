"""Live tables: one filter, WaitForUpdatesEx changes applied to the frame without a refetch."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pyVmomi import vim

from esxnb import errors
from esxnb._fastpc import FastCollector
from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.tasks import wait_for_task
from helpers import connect_to

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("vpx", hosts=2, vms=2) as s:
        yield s


@pytest.fixture
def conn(sim: Simulator) -> Iterator[Connection]:
    with connect_to(sim, f"vpx://{sim.host}:{sim.port}/") as c:
        yield c


def _until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def retrievals(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts bulk reads (RetrievePropertiesEx) from the moment the test asks."""
    calls: list[int] = []
    original = FastCollector.retrieve

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FastCollector, "retrieve", counted)
    return calls


def test_a_power_off_and_a_new_vm_reach_the_frame_without_a_refetch(
    conn: Connection, retrievals: list[int]
) -> None:
    seen: list[int] = []
    with conn.watch("domains", on_change=lambda live, changes: seen.append(len(changes))) as live:
        assert sorted(live.frame["name"]) == sorted(conn.domains()["name"])
        retrievals.clear()
        running = live.frame[live.frame["state"] == "running"].iloc[0]
        vm = conn.domain(running["name"]).vm
        wait_for_task(conn, vm.PowerOffVM_Task())  # through raw pyVmomi, not esxnb
        assert _until(lambda: live.frame.set_index("name").loc[running["name"], "state"] == "shut off")
        state_changes = live.changes[
            (live.changes["column"] == "state") & (live.changes["row"] == running["name"])
        ]
        assert list(state_changes[["before", "after"]].iloc[-1]) == ["running", "shut off"]
        spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(), powerOn=False)
        wait_for_task(conn, vm.CloneVM_Task(folder=vm.parent, name="live-clone", spec=spec))
        assert _until(lambda: "live-clone" in set(live.frame["name"])), live.frame["name"].tolist()
        added = live.changes[live.changes["change"] == "added"]
        assert list(added["row"]) == ["live-clone"]
        clone = conn.domain("live-clone").vm
        wait_for_task(conn, clone.Destroy_Task())
        assert _until(lambda: "live-clone" not in set(live.frame["name"]))
        assert "removed" in set(live.changes["change"])
        wait_for_task(conn, vm.PowerOnVM_Task())
        assert _until(lambda: live.frame.set_index("name").loc[running["name"], "state"] == "running")
        assert retrievals == [], "a change was read with a new retrieval instead of the filter's updates"
        assert live.updates >= 4 and seen and str(live.frame["vcpus"].dtype) == "Int64"
    assert not live.running


def test_watch_refuses_what_it_cannot_follow(conn: Connection) -> None:
    with pytest.raises(errors.ValidationError, match="unknown table 'vinfo'"):
        conn.watch("vinfo")
    with pytest.raises(errors.ValidationError, match="several rows per object"):
        conn.watch("disks")


def test_hosts_follow_too_and_interval_gathers_changes(conn: Connection, sim: Simulator) -> None:
    with pytest.raises(errors.ValidationError, match="interval must be >= 0"):
        conn.watch("hosts", interval=-1)
    with conn.watch("hosts", interval=0.5) as live:
        assert len(live.frame) == len(conn.hosts())
        assert "running" in repr(live)


def test_the_view_redraws_and_highlights_what_changed(conn: Connection) -> None:
    from esxnb.widgets import LiveTableView

    with conn.watch("domains") as live:
        view = LiveTableView(live, columns=["name", "state", "host"])
        assert (
            "class='esxnb-changed'" not in view.table.value and f"{len(live.frame)} rows" in view.title.value
        )
        running = live.frame[live.frame["state"] == "running"].iloc[0]
        vm = conn.domain(running["name"]).vm
        wait_for_task(conn, vm.SuspendVM_Task())
        assert _until(lambda: f"data-moref='{running['moref']}' class='esxnb-changed'" in view.table.value)
        assert "paused" in view.table.value
        wait_for_task(conn, vm.PowerOnVM_Task())
        assert _until(lambda: live.frame.set_index("moref").loc[running["moref"], "state"] == "running")
        view.stop()
        assert "stopped" in view.title.value and view.stop_button.disabled and not live.running
