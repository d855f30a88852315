"""DomainBrowser driven headless against the simulator: table, filters, lifecycle with
confirmation, progress, cancel, and the scheduler editor — outcomes read back from the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esxnb._collect import retrieve
from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.widgets import DomainBrowser
from helpers import connect_to, wait_until

pytestmark = pytest.mark.simulator

VM0, VM1, VM2, VM3 = (f"ha-host_VM{i}" for i in range(4))


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("esx", vms=4) as server:
        yield server


@pytest.fixture
def conn(sim: Simulator) -> Iterator[Connection]:
    sim.clear_faults()
    with connect_to(sim) as connection:
        for name in (VM0, VM1, VM2, VM3):  # every test starts from running VMs with tools
            sim.set_tools(name, "toolsOk")
            state = _server(connection, name, "runtime.powerState")
            if state == "suspended":
                connection.domain(name).resume()
            elif state == "poweredOff":
                connection.domain(name).start()
        yield connection
    sim.clear_faults()


def _server(conn: Connection, name: str, path: str) -> object:
    """A VM property as the server reports it now (not through the form)."""
    vm = conn.domain(name).vm
    return retrieve(conn.content, [vm], [path])[vm].get(path)


def _listed(form: DomainBrowser) -> list[str]:
    return [label.split(" · ")[0] for label, _uuid in form.selection.options]


def test_table_lists_the_servers_domains_and_filters(conn: Connection) -> None:
    form = DomainBrowser(conn)
    on_server = sorted(retrieve(conn.content, conn.host.vm, ["name"])[vm]["name"] for vm in conn.host.vm)
    assert sorted(form.domains["name"]) == on_server
    assert _listed(form) == on_server
    assert [uuid for _label, uuid in form.selection.options] == list(form.domains["uuid"])
    assert "table" in form.table.value and VM0 in form.table.value
    form.filter.value = "vm2"
    assert _listed(form) == [VM2]
    assert VM1 not in form.table.value
    form.filter.value = ""
    conn.domain(VM3).suspend()
    form.refresh()
    form.state_filter.value = "paused"
    assert _listed(form) == [VM3]
    assert "1 of 4 domains" in form.status.text


def test_lifecycle_on_the_selection(conn: Connection) -> None:
    form = DomainBrowser(conn)
    form.select(VM0, VM1)
    form.action_buttons["suspend"].click()
    assert form.wait(30)
    assert form.outcomes == {VM0: "ok", VM1: "ok"}
    assert [_server(conn, n, "runtime.powerState") for n in (VM0, VM1, VM2)] == [
        "suspended",
        "suspended",
        "poweredOn",
    ]
    assert all(row.bar.bar_style == "success" and row.bar.value == 100 for row in form.tasks.children)
    assert "paused" in form.table.value  # the table was read again
    form.action_buttons["resume"].click()
    assert form.wait(30)
    assert [_server(conn, n, "runtime.powerState") for n in (VM0, VM1)] == ["poweredOn", "poweredOn"]


def test_destructive_actions_wait_for_confirmation(conn: Connection) -> None:
    form = DomainBrowser(conn)
    form.select(VM2)
    form.action_buttons["destroy"].click()
    assert form.confirm_box.layout.display is None and VM2 in form.confirm_text.value
    assert _server(conn, VM2, "runtime.powerState") == "poweredOn"
    form.abort_button.click()
    assert form.confirm_box.layout.display == "none" and form.status.text == "nothing done"
    assert _server(conn, VM2, "runtime.powerState") == "poweredOn"
    form.action_buttons["destroy"].click()
    form.confirm_button.click()
    assert form.wait(30)
    assert form.outcomes == {VM2: "ok"}
    assert _server(conn, VM2, "runtime.powerState") == "poweredOff"
    for action in ("reset", "shutdown", "undefine"):
        form.request(action)
        assert form.confirm_box.layout.display is None, action
        form.abort_button.click()
    form.request("start")  # not destructive: runs at once
    assert form.confirm_box.layout.display == "none"
    assert form.wait(30) and _server(conn, VM2, "runtime.powerState") == "poweredOn"


def test_errors_are_shown_per_domain(conn: Connection, sim: Simulator) -> None:
    sim.set_tools(VM1, "toolsNotInstalled")
    form = DomainBrowser(conn)
    form.select(VM0, VM1)
    form.request("shutdown")
    form.confirm()
    assert form.wait(30)
    assert form.outcomes[VM0] == "ok" and "tools" in form.outcomes[VM1].lower()
    assert form.status.kind == "error" and "1 ok, 1 not done" in form.status.text
    bars = {row.title.value: row.bar.bar_style for row in form.tasks.children}
    assert bars == {f"shutdown {VM0}": "success", f"shutdown {VM1}": "danger"}
    assert wait_until(lambda: _server(conn, VM0, "runtime.powerState") == "poweredOff", interval=0.2)
    assert _server(conn, VM1, "runtime.powerState") == "poweredOn"


def test_progress_and_cancel(conn: Connection, sim: Simulator) -> None:
    for name in (VM0, VM1):
        conn.domain(name).destroy()
    sim.set_task_behaviour("PowerOnVM_Task", duration=4, steps=8)
    try:
        form = DomainBrowser(conn)
        form.select(VM0, VM1)
        form.action_buttons["start"].click()
        # the kernel is free while the task runs: the click returned with the job still going
        # and the domain not yet started on the server
        assert not form.wait(0)
        assert _server(conn, VM0, "runtime.powerState") == "poweredOff"
        assert not form.cancel_button.disabled
        first = form.tasks.children[0]
        assert wait_until(lambda: first.bar.value > 0), "no progress reported"
        form.cancel_button.click()
        assert form.wait(30)
    finally:
        sim.set_task_behaviour("PowerOnVM_Task", duration=0, steps=1)
    assert "cancel" in form.outcomes[VM0].lower()
    assert "stopped by the caller; the task was cancelled" in form.outcomes[VM0]
    assert form.outcomes[VM1] == "cancelled"
    assert first.bar.bar_style == "danger"
    assert [_server(conn, n, "runtime.powerState") for n in (VM0, VM1)] == ["poweredOff", "poweredOff"]


def test_scheduler_editor_validates_previews_and_applies(conn: Connection) -> None:
    form = DomainBrowser(conn)
    form.select(VM3)
    assert (form.reservation.value, form.limit.value) == ("0", "-1")
    form.reservation.value = "500"
    form.limit.value = "100"
    assert form.scheduler_status.kind == "error" and "below the reservation" in form.scheduler_status.text
    assert form.preview_scheduler() is None and form.apply_button.disabled
    form.limit.value = "abc"
    assert "whole number" in form.scheduler_status.text
    form.limit.value = "2000"
    form.shares_level.value = "custom"
    form.shares_value.value = 1234
    assert form.scheduler_status.kind == "info"
    preview = form.preview_scheduler()
    assert set(preview["field"]) == {"reservation", "limit", "shares"}
    assert not form.apply_button.disabled
    assert _server(conn, VM3, "config.cpuAllocation").reservation == 0  # preview changes nothing
    form.apply_button.click()
    assert form.wait(30)
    assert form.scheduler_status.kind == "ok" and VM3 in form.scheduler_status.text
    allocation = _server(conn, VM3, "config.cpuAllocation")
    assert (allocation.reservation, allocation.limit) == (500, 2000)
    assert (allocation.shares.level, allocation.shares.shares) == ("custom", 1234)
    # two domains at once, one field; the other fields are kept
    form.select(VM2, VM3)
    form.reservation.value = ""
    form.limit.value = ""
    form.shares_level.value = "high"
    assert len(form.preview_scheduler()) == 2
    form.apply_scheduler()
    assert form.wait(30)
    assert [_server(conn, n, "config.cpuAllocation").shares.level for n in (VM2, VM3)] == ["high", "high"]
    assert _server(conn, VM3, "config.cpuAllocation").reservation == 500


def test_nothing_selected_and_no_connection() -> None:
    form = DomainBrowser()
    assert form.status.text == "waiting for a connection"
    form.request("start")
    assert "select one or more" in form.status.text
    assert form.preview_scheduler() is None and "no connection" in form.scheduler_status.text


def test_buttons_and_table_read_well(conn: Connection) -> None:
    form = DomainBrowser(conn)
    styles = {action: button.button_style for action, button in form.action_buttons.items()}
    assert styles["destroy"] == styles["reset"] == styles["undefine"] == "danger"
    assert styles["shutdown"] == "warning", "a guest shutdown is not coloured like Destroy"
    assert styles["start"] == ""
    assert "white-space: nowrap" in form.table.value and "uuid" not in form.table.value.lower()
    assert '<tr style="text-align: left;">' in form.table.value, "headers aligned with their cells"
