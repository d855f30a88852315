"""EstateExplorer and HealthPanel driven headless against the demo estate: what they show is
checked against pandas and ``conn.health()`` on the same estate; exports are read back."""

from __future__ import annotations

import html
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from esxnb.connection import Connection
from esxnb.errors import ValidationError
from esxnb.estate import Estate
from esxnb.simulator import Simulator
from esxnb.widgets import EstateExplorer, HealthPanel
from esxnb.widgets.estate import filter_frame
from helpers import connect_to

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(estate="demo", seed=0) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def conn(sim: Simulator) -> Iterator[Connection]:
    with connect_to(sim, f"vpx://{sim.host}:{sim.port}/") as connection:
        yield connection


@pytest.fixture(scope="module")
def explorer(conn: Connection) -> EstateExplorer:
    form = EstateExplorer(conn)
    assert "press Load estate" in form.status.text
    assert form.load() and form.runner.wait(120), form.status.text
    return form


def _texts(widget: object) -> str:
    out, stack = [], [widget]
    while stack:
        node = stack.pop()
        for trait in ("value", "_dt_args", "_style", "caption"):
            value = getattr(node, trait, None)
            if isinstance(value, (str, dict)):
                out.append(str(value))
        out.extend(str(title) for title in getattr(node, "titles", ()) or ())
        stack.extend(getattr(node, "children", ()) or ())
    return "\n".join(out)


def test_load_fills_a_tab_per_table(explorer: EstateExplorer, conn: Connection) -> None:
    estate = explorer.estate
    assert explorer.status.kind == "ok" and len(explorer.tabs.children) == len(estate) >= 20
    titles = [explorer.tabs.get_title(i) for i in range(len(estate))]
    assert titles[0] == f"vms ({len(estate.vms)})" and len(estate.vms) == len(conn.domains())
    assert explorer.table_name == "vms" and len(explorer.grid.df) == len(explorer.frame) == len(estate.vms)
    assert str(explorer.grid.df["created_at"].dtype) == "datetime64[ns]", "UTC, shown without a zone"
    assert explorer.tabs.children[0].children == (explorer.view,)


def _grid_rows(grid: object) -> int:
    """How many rows the grid sends to the browser (itables would downsample a big frame)."""
    import json

    args = grid._dt_args  # type: ignore[attr-defined]
    assert not args.get("downsampling_warning"), args.get("downsampling_warning")
    return len(json.loads(args["data_json"]))


def test_switching_tab_changes_the_grid(explorer: EstateExplorer) -> None:
    explorer.filter_text.value = ""
    explorer.tabs.selected_index = list(explorer.estate).index("hosts")
    assert explorer.table_name == "hosts"
    assert explorer.frame.equals(explorer.estate.hosts) and len(explorer.grid.df) == len(explorer.frame)
    assert (
        explorer.count_label.value
        == f"<b>{len(explorer.estate.hosts)}</b> of {len(explorer.estate.hosts)} rows"
    )
    assert (
        explorer.tabs.children[0].children == ()
        and explorer.view in explorer.tabs.children[list(explorer.estate).index("hosts")].children
    )
    explorer.show("disks")
    assert _grid_rows(explorer.grid) == len(explorer.estate.disks) > 600, "every row, none dropped"
    explorer.show("vms")
    assert explorer.tabs.selected_index == 0 and explorer.table_name == "vms"


def test_text_and_query_filters_are_what_pandas_gives(explorer: EstateExplorer) -> None:
    vms = explorer.estate.vms
    explorer.show("vms")
    explorer.filter_text.value = "SQL"
    expected = vms[
        vms.apply(lambda row: any("sql" in str(v).lower() for v in row if isinstance(v, str)), axis=1)
    ]
    assert sorted(explorer.frame["moref"]) == sorted(expected["moref"]) and len(expected) > 0
    assert "(text)" in explorer.count_label.value
    explorer.filter_text.value = 'memory_mib > 8192 and power_state == "poweredOn"'
    expected = vms[(vms["memory_mib"] > 8192) & (vms["power_state"] == "poweredOn")]
    assert list(explorer.frame["moref"]) == list(expected["moref"]) and 0 < len(expected) < len(vms)
    assert explorer.count_label.value == f"<b>{len(expected)}</b> of {len(vms)} rows (query)"
    shown = list(explorer.frame["moref"])
    explorer.filter_text.value = "memory_gb > 8"
    assert explorer.status.kind == "error" and "memory_gb" in explorer.status.text
    assert "columns: name, power_state" in explorer.status.text
    assert list(explorer.frame["moref"]) == shown, "a bad query keeps the rows shown"
    explorer.filter_text.value = ""
    assert explorer.status.kind != "error" and len(explorer.frame) == len(vms)


def test_a_bad_query_on_another_table_shows_that_table_whole(explorer: EstateExplorer) -> None:
    explorer.show("vms")
    explorer.filter_text.value = "memory_mib > 100000"
    explorer.show("datastores")  # it has no memory_mib
    assert explorer.table_name == "datastores" and explorer.frame.equals(explorer.estate.datastores)
    assert explorer.status.kind == "error" and "memory_mib" in explorer.status.text
    explorer.filter_text.value = ""


def test_exports_read_back_and_never_overwrite(explorer: EstateExplorer, tmp_path: Path) -> None:
    explorer.show("disks")
    explorer.filter_text.value = "capacity_mib > 20000"
    data = explorer.export_parquet(tmp_path)
    back = pd.read_parquet(io.BytesIO(data))
    assert len(back) == len(explorer.frame) > 0 and list(back.columns) == list(explorer.frame.columns)
    assert (tmp_path / "disks.parquet").read_bytes() == data
    assert "download='disks.parquet'" in explorer.downloads.value
    explorer.path_text.value = str(tmp_path / "disks.parquet")
    explorer.parquet_button.click()
    assert explorer.status.kind == "error" and "exists" in explorer.status.text
    assert (tmp_path / "disks.parquet").read_bytes() == data, "left as it was"
    target = tmp_path / "estate.xlsx"
    explorer.path_text.value = str(target)
    explorer.excel_button.click()
    assert explorer.status.kind == "ok", explorer.status.text
    book = load_workbook(target, read_only=True)
    assert {"vInfo", "vDisk", "vHost", "vMetaData"} <= set(book.sheetnames)
    explorer.path_text.value = ""
    explorer.filter_text.value = ""


def test_filtering_ten_thousand_rows_stays_quick(explorer: EstateExplorer) -> None:
    """Not a timing assertion: the time is printed for the log; the rows must be right."""
    vms = explorer.estate.vms
    big = pd.concat([vms] * 34, ignore_index=True).head(10_000)
    started = time.perf_counter()
    rows, how = filter_frame(big, 'vcpus >= 8 and cluster == "ams-prod"')
    query_s = time.perf_counter() - started
    started = time.perf_counter()
    text_rows, _ = filter_frame(big, "windows")
    text_s = time.perf_counter() - started
    print(f"10,000 rows: query {query_s * 1000:.0f} ms, text {text_s * 1000:.0f} ms")
    wanted = sum(
        1
        for v, c in zip(big["vcpus"], big["cluster"])
        if not pd.isna(v) and not pd.isna(c) and v >= 8 and c == "ams-prod"
    )
    assert how == "query" and len(rows) == wanted > 0
    assert 0 < len(text_rows) < len(big)


def test_an_estate_without_a_connection(conn: Connection) -> None:
    estate = conn.estate(["vms", "hosts"])
    form = EstateExplorer(estate=estate)
    assert form.load_button.layout.display == "none" and form.table_name == "vms"
    assert EstateExplorer(None).load() is False


def test_health_panel_counts_filters_and_drills_down(explorer: EstateExplorer, conn: Connection) -> None:
    estate: Estate = explorer.estate
    panel = HealthPanel(estate)
    expected = conn.health(estate=estate)
    assert len(panel.findings) == len(expected) and panel.status.kind == "ok"
    counts = expected["severity"].astype(str).value_counts()
    assert f"<b>{counts['critical']}</b>" in panel.summary.value and "#b42318" in panel.summary.value
    panel.severity_boxes["info"].value = False
    assert len(panel.shown) == (expected["severity"].astype(str) != "info").sum()
    assert "#b42318" in panel.grid.df["severity"].iloc[0], "critical first, in red"
    panel.rule_picker.value = "datastore_free"
    assert list(panel.shown["entity"]) == ["ams-prod-vmfs02"]
    panel.rule_picker.value = ""
    assert _grid_rows(panel.grid) == len(panel.shown) > 300, "every finding, none dropped"
    panel.rule_picker.value = "datastore_free"
    details = panel.drill(0)
    row = estate.datastores.set_index("name").loc["ams-prod-vmfs02"]
    assert details["free_pct"] == row["free_pct"] and "ams-prod-vmfs02" in panel.detail.value
    panel.rule_picker.value = "consolidation_needed"
    vm = panel.shown.iloc[0]
    details = panel.drill(0)
    assert details["name"] == vm["entity"]
    assert details["disks"] == (estate.disks["vm_moref"] == vm["moref"]).sum() > 0
    panel.grid.selected_rows = [1]
    assert panel.details["name"] == panel.shown.iloc[1]["entity"], "selecting a row drills down"


def test_health_panel_thresholds_and_connection(conn: Connection, sim: Simulator) -> None:
    panel = HealthPanel(conn)
    assert panel.runner.wait(120) and panel.findings is not None, panel.status.text
    before = (panel.findings["rule"] == "snapshot_old").sum()
    panel.threshold_boxes["snapshot_age_days"].value = 365
    assert panel.recheck() and panel.runner.wait(120)
    after = (panel.findings["rule"] == "snapshot_old").sum()
    assert 0 < after < before
    assert after == (conn.health(snapshot_age_days=365)["rule"] == "snapshot_old").sum()
    panel.threshold_boxes["min_hw_version"].value = -5
    panel.evaluate()
    assert panel.status.kind == "ok", "a low threshold is allowed"
    assert sim.password not in _texts(panel)


def test_health_panel_drills_down_to_a_host(explorer: EstateExplorer) -> None:
    estate: Estate = explorer.estate
    panel = HealthPanel(estate)
    hosts = panel.findings[panel.findings["entity_type"] == "HostSystem"]
    assert len(hosts) > 0, "the demo estate has host findings"
    panel.rule_picker.value = str(hosts.iloc[0]["rule"])
    index = int(panel.shown.index[panel.shown["entity_type"] == "HostSystem"][0])
    details = panel.drill(index)
    row = estate.hosts[estate.hosts["moref"] == panel.shown.iloc[index]["moref"]].iloc[0]
    assert details["moref"] == row["moref"] and details["name"] == row["name"]
    assert html.escape(str(row["name"])) in panel.detail.value
    with pytest.raises(ValidationError):
        panel.drill(len(panel.shown))


def test_health_panel_invalid_thresholds_show_the_error(explorer: EstateExplorer) -> None:
    panel = HealthPanel(explorer.estate, thresholds={"snapshot_days": 7})
    assert panel.status.kind == "error" and "unknown threshold(s) snapshot_days" in panel.status.text
    assert panel.findings is None
    good = HealthPanel(explorer.estate)
    found = len(good.findings)
    good.threshold_boxes["datastore_free_pct"].value = float("nan")
    good.evaluate()
    assert good.status.kind == "error" and "datastore_free_pct=nan" in good.status.text
    assert len(good.findings) == found, "the findings shown stay"


def test_no_credentials_in_the_explorer(explorer: EstateExplorer, sim: Simulator) -> None:
    explorer.show("vms")
    texts = _texts(explorer)
    assert "data_json" in explorer.grid._dt_args and "vms (" in texts, "the walk reaches grid and tabs"
    assert str(explorer.frame["name"].iloc[-1]) in texts, "the grid's rows are walked"
    assert explorer.grid._dt_args.get("ordering", True) is not False, "the grid sorts"
    assert sim.password not in texts
    assert sim.password not in explorer.grid.df.to_csv()
