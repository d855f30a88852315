"""EstateDashboard driven headless against the demo estate: the cards' figures checked against
the server read another way, the findings grid, the capacity chart, and the live table
following a change made through another connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.widgets import EstateDashboard
from esxnb.widgets.dashboard import kpis
from helpers import connect_to, wait_until

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(estate="demo", seed=0) as simulator:
        yield simulator


@pytest.fixture
def conn(sim: Simulator) -> Iterator[Connection]:
    with connect_to(sim, f"vpx://{sim.host}:{sim.port}/") as connection:
        yield connection


def _texts(widget: object) -> str:
    """Every string value in the widget tree (what a page could show)."""
    out = []
    stack = [widget]
    while stack:
        node = stack.pop()
        value = getattr(node, "value", None)
        if isinstance(value, str):
            out.append(value)
        stack.extend(getattr(node, "children", ()) or ())
    return "\n".join(out)


def test_cards_agree_with_the_server(conn: Connection, sim: Simulator) -> None:
    board = EstateDashboard(conn, live=False)
    try:
        assert board.runner.wait(120) and board.estate is not None, board.status.text
        domains = conn.domains()
        hosts = conn.hosts()
        k = board.figures
        vms = board.estate.vms
        templates = set(vms.loc[vms["template"].astype(bool), "uuid"])
        live_domains = domains[~domains["uuid"].isin(templates)]
        assert k["vms"] == len(live_domains)
        assert k["running"] == (live_domains["state"] == "running").sum()
        assert k["suspended"] == (live_domains["state"] == "paused").sum()
        assert k["hosts"] == len(hosts) and k["hosts_maintenance"] == hosts["maintenance_mode"].sum() == 1
        assert k["hosts_disconnected"] == 1
        assert k["datastores_near_full"] == 1 and k["critical"] == 10
        assert k["oldest_snapshot_days"] == pytest.approx(conn.snapshots()["age_days"].max(), abs=0.01)
        cards = board.cards.value
        assert f">{k['vms']}<" in cards and "1 in maintenance, 1 disconnected" in cards
        assert f"{k['critical']} critical" in cards
        assert board.capacity.value[:8] == b"\x89PNG\r\n\x1a\n"
        grid = board.findings_box.children[1]
        assert len(grid.df) == k["critical"] + k["warning"]
        assert sim.password not in _texts(board)
    finally:
        board.close()


def test_thresholds_change_the_findings(conn: Connection) -> None:
    board = EstateDashboard(conn, live=False, thresholds={"datastore_free_pct": 5})
    try:
        assert board.runner.wait(120) and board.estate is not None
        assert board.figures["datastores_near_full"] == 0, "ams-prod-vmfs02 has 7 % free"
        assert "less than 5 % free" in board.cards.value
    finally:
        board.close()


def test_live_table_follows_another_connection(conn: Connection, sim: Simulator) -> None:
    board = EstateDashboard(conn)
    other = connect_to(sim, f"vpx://{sim.host}:{sim.port}/")
    try:
        assert board.runner.wait(120)
        frame = board.live.frame
        name = frame[frame["state"] == "running"].sort_values("name")["name"].iloc[-1]
        other.domain(name).suspend()
        assert wait_until(
            lambda: "paused" in set(board.live.frame.loc[board.live.frame["name"] == name, "state"])
        )
        view = board.live_box.children[0]
        assert wait_until(lambda: "esxnb-changed" in view.table.value)
        other.domain(name).resume()
    finally:
        board.close()
        other.close()
    assert not board.live_box.children[0].live.running, "closing the dashboard stops the watch"


def test_without_a_connection_it_says_so() -> None:
    board = EstateDashboard(None)
    assert "connect first" in board.status.text
    assert board.start_refresh() is False and board.status.kind == "error"


def test_kpis_use_the_findings_threshold(conn: Connection) -> None:
    estate = conn.estate(["vms", "hosts", "datastores", "snapshots"])
    strict = kpis(estate, estate.health(datastore_free_pct=50))
    assert strict["near_full_pct"] == 50
    assert strict["datastores_near_full"] == (estate.datastores["free_pct"] < 50).sum() > 1
