"""SnapshotManager and PerfChart driven headless against the demo estate's vCenter simulator:
the tree as the server has it, create/revert/delete read back from the server, the chart's
queries, errors in the status line, and the auto refresh thread stopping."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator

import ipywidgets as widgets
import pandas as pd
import pytest

import esxnb
from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.widgets import ConnectForm
from esxnb.widgets.perf import PerfChart
from esxnb.widgets.snapshots import SnapshotManager
from helpers import wait_until

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(estate="demo", seed=0) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def conn(sim: Simulator) -> Iterator[Connection]:
    with esxnb.connect(
        f"vpx://{sim.host}:{sim.port}/", auth=(sim.username, sim.password), ca_file=sim.ca_file
    ) as c:
        yield c


@pytest.fixture(scope="module")
def plan(conn: Connection) -> dict[str, str]:
    """VMs each test may change, chosen once before any test changes the estate: trees whose
    snapshot names are unique (the tests find snapshots by name), the deepest first."""
    snaps = conn.snapshots()
    unique = snaps.groupby("domain", observed=True)["name"].agg(lambda n: n.is_unique)
    depth = snaps.groupby("domain", observed=True)["depth"].max()
    usable = sorted((d for d in unique.index if unique[d] and depth[d] >= 2), key=lambda d: (-depth[d], d))
    domains = conn.domains()
    running = set(domains[domains["state"] == "running"]["name"])
    # a snapshot keeps memory only of a running guest: the create test needs one
    chosen = {"create": next(d for d in usable if d in running)}
    roles = ["tree", "duplicate", "revert", "delete", "delete_children", "cancel"]
    rest = [d for d in usable if d != chosen["create"]]
    assert len(rest) >= len(roles), "the demo estate has fewer deep snapshot trees than the tests need"
    return {**chosen, **dict(zip(roles, rest, strict=False))}


def _read(conn: Connection, vm: str) -> pd.DataFrame:
    """The VM's snapshots as the server reports them now."""
    return conn.domain(vm).snapshots()


def _current(conn: Connection, vm: str) -> str:
    snapshot = conn.domain(vm).current_snapshot()
    assert snapshot is not None, f"{vm} runs from no snapshot"
    return snapshot.name


def _frame(chart: PerfChart) -> pd.DataFrame:
    assert chart.frame is not None, "nothing queried yet"
    return chart.frame


def _label_name(label: str) -> str:
    return label.split(" · ")[0].lstrip("\u00a0└● ")


def _states(widget: widgets.Widget, seen: set[int] | None = None) -> list[str]:
    """The synced state of ``widget`` and every widget below it, as JSON text."""
    seen = set() if seen is None else seen
    if id(widget) in seen:
        return []
    seen.add(id(widget))
    found = [json.dumps(widget.get_state(), default=str)]
    for child in getattr(widget, "children", ()):
        found += _states(child, seen)
    return found


# -- SnapshotManager -------------------------------------------------------------------------
def test_tree_matches_the_server(conn: Connection, plan: dict[str, str], sim: Simulator) -> None:
    vm = plan["tree"]
    manager = SnapshotManager(conn, vm)
    rows = _read(conn, vm)
    assert manager.domain_picker.value == vm
    assert list(manager.domain_picker.options) == sorted(conn.domains()["name"])
    assert [value for _label, value in manager.tree.options] == list(rows["moref"])
    labels = [label for label, _value in manager.tree.options]
    assert [_label_name(label) for label in labels] == list(rows["name"])
    for label, depth in zip(labels, rows["depth"], strict=True):
        assert label.startswith("\u00a0" * 4 * int(depth)) and not label.startswith(
            "\u00a0" * (4 * depth + 1)
        )
    position = {name: i for i, name in enumerate(rows["name"])}
    assert all(position[p] < position[n] for n, p in zip(rows["name"], rows["parent"]) if pd.notna(p))
    assert rows["depth"].max() >= 2
    current = _current(conn, vm)
    marked = [_label_name(label) for label in labels if "●" in label]
    assert marked == [current] and "current" in labels[position[current]]
    for label, created in zip(labels, rows["created"], strict=True):
        assert f"{created:%Y-%m-%d %H:%M}" in label and " old" in label
    assert manager.selected is None and manager.revert_button.disabled and manager.delete_button.disabled
    manager.tree.value = rows["moref"].iloc[1]
    assert manager.selected == rows["name"].iloc[1]
    assert not manager.revert_button.disabled and not manager.delete_button.disabled
    assert manager.status.text.startswith(f"{vm}: {len(rows)} snapshot(s)")
    assert not any(sim.password in state for state in _states(manager))


def test_create_reads_back_description_and_memory(conn: Connection, plan: dict[str, str]) -> None:
    vm = plan["create"]
    before = _read(conn, vm)
    manager = SnapshotManager(conn, vm)
    assert manager.memory_box.value is True and manager.quiesce_box.value is False
    manager.name_text.value = "widget snap"
    manager.description_text.value = "taken from the widget"
    manager.create_button.click()
    assert manager.wait(30)
    assert manager.status.kind == "ok" and "created snapshot 'widget snap'" in manager.status.text
    assert manager.progress.bar.value == 100 and manager.progress.bar.bar_style == "success"
    after = _read(conn, vm).set_index("name")
    assert len(after) == len(before) + 1
    new = after.loc["widget snap"]
    assert new["description"] == "taken from the widget" and bool(new["has_memory"]) is True
    assert bool(new["current"]) is True
    assert new["parent"] == before[before["current"].astype(bool)]["name"].iloc[0]
    assert "widget snap" in [_label_name(label) for label, _v in manager.tree.options], "tree re-read"
    assert manager.name_text.value == ""

    manager.name_text.value = "disk only"
    manager.memory_box.value = False
    manager.create_button.click()
    assert manager.wait(30) and manager.status.kind == "ok"
    assert bool(_read(conn, vm).set_index("name").loc["disk only", "has_memory"]) is False
    labels = {_label_name(label): label for label, _v in manager.tree.options}
    assert "· memory ·" in labels["widget snap"] and "taken from the widget" in labels["widget snap"]
    assert "memory" not in labels["disk only"] and "● disk only" in labels["disk only"]


def test_a_duplicate_name_is_refused(conn: Connection, plan: dict[str, str]) -> None:
    vm = plan["duplicate"]
    before = _read(conn, vm)
    manager = SnapshotManager(conn, vm)
    manager.name_text.value = str(before["name"].iloc[0])
    manager.create_button.click()
    assert manager.wait(30)
    assert manager.status.kind == "error"
    assert f"has a snapshot called {before['name'].iloc[0]!r} already" in manager.status.text
    assert manager.progress.bar.bar_style == "danger"
    assert list(_read(conn, vm)["moref"]) == list(before["moref"])
    manager.name_text.value = "   "
    assert manager.start_create() is False and manager.status.text == "a snapshot needs a name"


def test_revert_asks_and_keep_does_nothing(conn: Connection, plan: dict[str, str]) -> None:
    vm = plan["revert"]
    rows = _read(conn, vm)
    current = _current(conn, vm)
    target = str(rows[rows["name"] != current]["name"].iloc[0])
    manager = SnapshotManager(conn, vm)
    manager.select(target)
    manager.revert_button.click()
    assert manager.confirmation.layout.display is None
    assert f"Really revert <b>{vm}</b> to snapshot <b>{target}</b>?" in manager.confirmation.text.value
    manager.confirmation.keep_button.click()
    assert manager.status.text == "nothing reverted" and not manager.runner.busy
    assert _current(conn, vm) == current

    manager.revert_button.click()
    manager.confirmation.confirm_button.click()
    assert manager.wait(30)
    assert manager.status.kind == "ok" and f"reverted {vm} to snapshot {target!r}" == manager.status.text
    assert manager.progress.bar.value == 100
    assert _current(conn, vm) == target
    marked = [_label_name(label) for label, _v in manager.tree.options if "●" in label]
    assert marked == [target], "the tree shows the new current snapshot"


def test_a_question_is_withdrawn_when_the_choice_changes(conn: Connection, plan: dict[str, str]) -> None:
    vm = plan["tree"]
    rows = _read(conn, vm)
    manager = SnapshotManager(conn, vm)
    manager.select(str(rows["name"].iloc[0]))
    manager.delete_button.click()
    assert manager.confirmation.pending
    manager.select(str(rows["name"].iloc[1]))
    assert not manager.confirmation.pending and manager.confirmation.layout.display == "none"
    manager.revert_button.click()
    manager.children_box.value = True
    assert not manager.confirmation.pending
    assert list(_read(conn, vm)["moref"]) == list(rows["moref"]) and not manager.runner.busy


def test_of_two_snapshots_of_one_name_the_picked_one_is_deleted(conn: Connection) -> None:
    snaps = conn.snapshots()
    twice = snaps[snaps.duplicated(["domain", "name"], keep="first")].iloc[0]
    vm, name, moref = str(twice["domain"]), str(twice["name"]), str(twice["moref"])
    before = _read(conn, vm)
    namesake = before[(before["name"] == name) & (before["moref"] != moref)]["moref"].tolist()
    assert namesake, "the demo estate has a tree with a name used twice"
    manager = SnapshotManager(conn, vm)
    manager.tree.value = moref
    assert manager.selected == name
    manager.delete_button.click()
    assert manager.confirmation.pending
    manager.confirmation.confirm()
    assert manager.wait(60) and manager.status.kind == "ok", manager.status.text
    after = _read(conn, vm)
    assert moref not in set(after["moref"]) and set(namesake) <= set(after["moref"])
    assert len(after) == len(before) - 1


def test_delete_keeps_the_children(conn: Connection, plan: dict[str, str]) -> None:
    vm = plan["delete"]
    rows = _read(conn, vm)
    victim = rows[rows["children"] > 0].iloc[0]
    kids = list(rows[rows["parent"] == victim["name"]]["name"])
    manager = SnapshotManager(conn, vm)
    manager.select(str(victim["name"]))
    manager.delete_button.click()
    assert f"Really delete snapshot <b>{victim['name']}</b> of <b>{vm}</b>" in manager.confirmation.text.value
    manager.confirmation.confirm_button.click()
    assert manager.wait(30) and manager.status.kind == "ok"
    after = _read(conn, vm).set_index("name")
    assert victim["name"] not in after.index and len(after) == len(rows) - 1
    for kid in kids:
        parent = after.loc[kid, "parent"]
        assert (pd.isna(parent) and pd.isna(victim["parent"])) or parent == victim["parent"]
    assert [v for _l, v in manager.tree.options] == list(_read(conn, vm)["moref"])
    assert manager.selected is None and manager.delete_button.disabled


def test_delete_with_children_removes_the_subtree(conn: Connection, plan: dict[str, str]) -> None:
    vm = plan["delete_children"]
    rows = _read(conn, vm)
    victim = str(rows[rows["children"] > 0]["name"].iloc[0])
    subtree, frontier = {victim}, [victim]
    while frontier:
        below = set(rows[rows["parent"].isin(frontier)]["name"])
        subtree |= below
        frontier = list(below)
    manager = SnapshotManager(conn, vm)
    manager.select(victim)
    manager.children_box.value = True
    manager.delete_button.click()
    assert "and everything below it" in manager.confirmation.text.value
    manager.confirmation.confirm_button.click()
    assert manager.wait(30) and manager.status.kind == "ok" and "and its children" in manager.status.text
    after = _read(conn, vm)
    assert set(after["name"]) == set(rows["name"]) - subtree and len(subtree) >= 2


def test_cancel_stops_a_slow_snapshot(conn: Connection, plan: dict[str, str], sim: Simulator) -> None:
    vm = plan["cancel"]
    before = _read(conn, vm)
    sim.set_task_behaviour("CreateSnapshot_Task", duration=5, steps=10)
    try:
        manager = SnapshotManager(conn, vm)
        manager.name_text.value = "never"
        manager.create_button.click()
        assert not manager.cancel_button.disabled and manager.create_button.disabled
        assert wait_until(lambda: manager.progress.bar.value > 0), "no progress reported"
        manager.cancel_button.click()
        assert manager.wait(30)
    finally:
        sim.set_task_behaviour("CreateSnapshot_Task", duration=0, steps=1)
    assert manager.status.kind == "error" and "cancel" in manager.status.text.lower()
    assert "never" not in set(_read(conn, vm)["name"]) and len(_read(conn, vm)) == len(before)
    assert manager.cancel_button.disabled and not manager.create_button.disabled


def test_follows_a_connect_form(sim: Simulator, plan: dict[str, str]) -> None:
    form = ConnectForm(f"vpx://{sim.host}:{sim.port}/", ca_file=sim.ca_file)
    manager = SnapshotManager(form, plan["tree"])
    chart = PerfChart(form)
    assert manager.status.text == "waiting for a connection" and manager.domain_picker.options == ()
    form.username.value = sim.username
    form.password.value = sim.password
    try:
        assert form.connect(timeout=30) is not None
        assert manager.domain_picker.value == plan["tree"] and len(manager.tree.options) >= 3
        assert chart.counter.value == "cpu.usage.average" and len(chart.entities.options) == 300
        assert not any(sim.password in state for state in _states(manager) + _states(chart))
    finally:
        chart.close()
        form.connection.close()


# -- PerfChart -------------------------------------------------------------------------------
def _vms(conn: Connection, state: str) -> list[str]:
    domains = conn.domains()
    return sorted(domains[domains["state"] == state]["name"])


def test_refresh_draws_the_chosen_entities(conn: Connection, sim: Simulator) -> None:
    chart = PerfChart(conn)
    try:
        running, off = _vms(conn, "running"), _vms(conn, "shut off")
        values = [v for _label, v in chart.entities.options]
        assert values[: len(running)] == running and set(values[len(running) :]) >= set(off)
        assert chart.counter.value == "cpu.usage.average" and "mem.usage.average" in chart.counter.options
        assert list(chart.interval.options) == list(conn.perf_intervals()["name"])
        chart.entities.value = tuple(running[:3])
        chart.max_samples.value = 20
        assert chart.refresh() is True
        assert set(_frame(chart)["entity"]) == set(running[:3])
        assert set(_frame(chart)["counter"]) == {"cpu.usage.average"}
        assert _frame(chart).groupby("entity").size().max() <= 20
        png = base64.b64decode(chart.output.outputs[0]["data"]["image/png"])
        assert png.startswith(b"\x89PNG")
        ax = chart.figure.axes[0]
        assert "cpu.usage.average" in ax.get_title() and ax.get_ylabel() == "cpu.usage.average (%)"
        assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == running[:3]
        assert len(ax.get_lines()) == 3
        for name in running[:3]:
            assert f"<td>{name}</td>" in chart.table.value
        assert chart.status.kind == "ok"
        assert not any(sim.password in state for state in _states(chart))
    finally:
        chart.close()


def test_changing_counter_or_interval_queries_again(conn: Connection) -> None:
    chart = PerfChart(conn, debounce=0.05)
    try:
        chart.entities.value = tuple(_vms(conn, "running")[:2])
        assert wait_until(lambda: chart.frame is not None), "picking entities draws"
        chart.counter.value = "mem.usage.average"
        assert wait_until(lambda: set(_frame(chart)["counter"]) == {"mem.usage.average"})
        chart.interval.value = "Past day"
        assert wait_until(lambda: _frame(chart).attrs["interval_seconds"] == 300)
        assert set(_frame(chart)["counter"]) == {"mem.usage.average"}
        assert chart.figure.axes[0].get_ylabel() == "mem.usage.average (%)"
    finally:
        chart.close()


def test_hosts_can_be_charted(conn: Connection) -> None:
    chart = PerfChart(conn)
    try:
        chart.kind.value = "host"
        hosts = sorted(conn.hosts()["name"])
        assert [v for _l, v in chart.entities.options] == hosts
        chart.entities.value = tuple(hosts[:2])
        assert chart.refresh() is True
        assert set(_frame(chart)["entity_type"]) == {"HostSystem"} and set(_frame(chart)["entity"]) == set(
            hosts[:2]
        )
    finally:
        chart.close()


def test_a_vm_that_is_off_has_no_cpu_samples(conn: Connection) -> None:
    chart = PerfChart(conn)
    try:
        off, running = _vms(conn, "shut off")[0], _vms(conn, "running")[0]
        chart.entities.value = (off,)
        assert chart.refresh() is False
        assert _frame(chart).empty and chart.output.outputs == ()
        assert chart.status.kind == "error" and f"no realtime samples of cpu.usage.average for {off}" in (
            chart.status.text
        )
        chart.entities.value = (off, running)
        assert chart.refresh() is True
        assert set(_frame(chart)["entity"]) == {running}
        assert chart.status.text.endswith(f"no samples for {off}")
    finally:
        chart.close()


def test_mistakes_and_server_faults_go_to_the_status_line(conn: Connection, sim: Simulator) -> None:
    chart = PerfChart(conn)
    try:
        assert chart.refresh() is False
        assert chart.status.kind == "error" and chart.status.text == "choose one or more VMs first"
        chart.entities.value = (_vms(conn, "running")[0],)
        sim.inject_fault("QueryPerf", fault="RuntimeFault", message="perf service down")
        try:
            assert chart.refresh() is False
        finally:
            sim.clear_faults()
        assert chart.status.kind == "error" and "perf service down" in chart.status.text
        assert chart.refresh() is True
    finally:
        chart.close()


def _auto_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "esxnb-perf-auto-refresh"]


def test_auto_refresh_starts_and_stops(conn: Connection) -> None:
    chart = PerfChart(conn, period=2)
    chart.entities.value = (_vms(conn, "running")[0],)
    chart.auto_refresh.value = True
    try:
        assert chart.auto_running and len(_auto_threads()) == 1
        assert wait_until(lambda: chart.frame is not None)
        first = chart.frame
        assert wait_until(lambda: chart.frame is not first, timeout=10), "redrawn every period"
        chart.auto_refresh.value = False
        assert not chart.auto_running and _auto_threads() == []
        chart.auto_refresh.value = True
        assert chart.auto_running
    finally:
        chart.close()
    assert _auto_threads() == [] and not chart.auto_running
    assert not [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()]
    chart.auto_refresh.value = True  # a closed chart starts nothing
    assert _auto_threads() == []
