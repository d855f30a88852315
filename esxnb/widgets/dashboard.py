"""``EstateDashboard``: the estate at a glance — KPI cards, health findings, a capacity chart and
a live VM table — for ``dashboard-estate.ipynb`` under Voila, JupyterLab or Notebook 7."""

from __future__ import annotations

import html
import io
from typing import Any

import ipywidgets as widgets

from ._common import BackgroundRunner, StatusArea, TaskProgress, connection_of, error_text, observe_connection
from .live import LiveTableView

__all__ = ["EstateDashboard", "kpis", "capacity_figure", "LIVE_COLUMNS"]

LIVE_COLUMNS = ("name", "state", "host", "vcpus", "max_memory_mib", "guest_os")
_CARD = (
    "<div class='esxnb-kpi' style='display:inline-block;min-width:10em;margin:0 10px 10px 0;padding:8px 12px;"
    "border:1px solid #ddd;border-left:5px solid {colour};border-radius:4px'>"
    "<div style='font-size:12px;color:#555'>{title}</div>"
    "<div style='font-size:22px;font-weight:600'>{value}</div>"
    "<div style='font-size:12px;color:#555'>{detail}</div></div>"
)
_GREY, _GREEN, _AMBER, _RED = "#888", "#1a7f37", "#b54708", "#b42318"


def kpis(estate: Any, findings: Any, *, near_full_pct: float | None = None) -> dict[str, Any]:
    """The figures the cards show, from an :class:`~esxnb.estate.Estate` and its findings.
    ``near_full_pct`` defaults to the findings' ``datastore_free_pct`` threshold."""
    vms, hosts, datastores, snapshots = estate.vms, estate.hosts, estate.datastores, estate.snapshots
    templates = vms["template"].fillna(False).astype(bool)
    power = vms.loc[~templates, "power_state"].astype(str).value_counts()
    if near_full_pct is None:
        near_full_pct = float(findings.attrs.get("thresholds", {}).get("datastore_free_pct", 15))
    severities = findings["severity"].astype(str).value_counts()
    ages = snapshots["age_days"].dropna()
    return {
        "vms": int((~templates).sum()),
        "running": int(power.get("poweredOn", 0)),
        "powered_off": int(power.get("poweredOff", 0)),
        "suspended": int(power.get("suspended", 0)),
        "templates": int(templates.sum()),
        "hosts": len(hosts),
        "hosts_connected": int((hosts["connection_state"] == "connected").sum()),
        "hosts_maintenance": int(hosts["maintenance_mode"].fillna(False).astype(bool).sum()),
        "hosts_disconnected": int((hosts["connection_state"] != "connected").sum()),
        "datastores": len(datastores),
        "datastores_near_full": int((datastores["free_pct"] < near_full_pct).sum()),
        "near_full_pct": near_full_pct,
        "snapshots": len(snapshots),
        "oldest_snapshot_days": float(ages.max()) if len(ages) else None,
        "snapshots_over_30_days": int((ages > 30).sum()),
        "critical": int(severities.get("critical", 0)),
        "warning": int(severities.get("warning", 0)),
        "info": int(severities.get("info", 0)),
    }


def _cards(k: dict[str, Any]) -> str:
    oldest = "none" if k["oldest_snapshot_days"] is None else f"{k['oldest_snapshot_days']:.0f} days"
    cards = [
        (
            "VMs",
            k["vms"],
            f"{k['running']} running, {k['powered_off']} off, {k['suspended']} suspended",
            _GREY,
        ),
        (
            "Hosts",
            k["hosts"],
            f"{k['hosts_maintenance']} in maintenance, {k['hosts_disconnected']} disconnected",
            _RED if k["hosts_disconnected"] else (_AMBER if k["hosts_maintenance"] else _GREEN),
        ),
        (
            "Datastores near full",
            f"{k['datastores_near_full']} of {k['datastores']}",
            f"less than {k['near_full_pct']:g} % free",
            _RED if k["datastores_near_full"] else _GREEN,
        ),
        (
            "Oldest snapshot",
            oldest,
            f"{k['snapshots_over_30_days']} of {k['snapshots']} older than 30 days",
            _AMBER if k["snapshots_over_30_days"] else _GREEN,
        ),
        (
            "Health findings",
            f"{k['critical']} critical",
            f"{k['warning']} warning, {k['info']} info",
            _RED if k["critical"] else (_AMBER if k["warning"] else _GREEN),
        ),
    ]
    return "".join(
        _CARD.format(title=html.escape(t), value=html.escape(str(v)), detail=html.escape(d), colour=c)
        for t, v, d, c in cards
    )


def capacity_figure(estate: Any) -> bytes:
    """PNG: per cluster, the running VMs' vCPUs per physical core and their configured memory
    as a share of the cluster's memory."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    vms, hosts = estate.vms, estate.hosts
    running = vms[(vms["power_state"] == "poweredOn") & ~vms["template"].fillna(False).astype(bool)]
    clustered = hosts.dropna(subset=["cluster"])
    cores = clustered.groupby("cluster")["cpu_cores"].sum()
    memory = clustered.groupby("cluster")["memory_mib"].sum()
    vcpus = running.groupby("cluster")["vcpus"].sum().reindex(cores.index, fill_value=0)
    configured = running.groupby("cluster")["memory_mib"].sum().reindex(cores.index, fill_value=0)
    per_core = (vcpus / cores).fillna(0)
    memory_pct = (100 * configured / memory).fillna(0)
    figure = Figure(figsize=(9, 3.2))
    left, right = figure.subplots(1, 2, sharey=True)
    left.barh(cores.index, per_core, color=["#b42318" if v > 4 else "#175cd3" for v in per_core])
    left.axvline(4, color="#b42318", linestyle="--", label="4 per core")
    left.set_title("vCPUs of running VMs per core")
    left.set_xlabel("vCPUs per physical core")
    left.set_ylabel("cluster")
    left.legend(loc="upper right")
    right.barh(cores.index, memory_pct, color=["#b42318" if v > 100 else "#175cd3" for v in memory_pct])
    right.axvline(100, color="#b42318", linestyle="--", label="100 %")
    right.set_title("Configured memory of running VMs")
    right.set_xlabel("% of the cluster's memory")
    right.legend(loc="upper right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


class EstateDashboard(widgets.VBox):
    """KPI cards, the critical and warning findings (a data grid), a capacity chart per cluster
    and a live table of the domains, for a Connection or a ConnectForm. Refresh re-reads the
    estate in the background; the live table follows the server by itself.

    State for scripts and tests: ``.estate``, ``.findings``, ``.figures`` (the :func:`kpis`),
    ``.live`` (the LiveTable), ``.refresh()`` (synchronous), ``.close()`` stops the watch."""

    def __init__(
        self, connection: Any = None, *, live: bool = True, thresholds: dict[str, float] | None = None
    ):
        self._source = connection
        self._live_wanted = live
        self.thresholds = dict(thresholds or {})
        self.conn: Any = None
        self.estate: Any = None
        self.findings: Any = None
        self.figures: dict[str, Any] = {}
        self.live: Any = None
        self.runner = BackgroundRunner()
        self.cards = widgets.HTML()
        self.status = StatusArea()
        self.progress = TaskProgress("Reading the estate")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _b: self.start_refresh())
        self.capacity = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.findings_box = widgets.VBox()
        self.live_box = widgets.VBox()
        self.tabs = widgets.Tab([self.findings_box, widgets.VBox([self.capacity]), self.live_box])
        for index, title in enumerate(("Health findings", "Capacity", "Live VMs")):
            self.tabs.set_title(index, title)
        super().__init__(
            [self.cards, widgets.HBox([self.refresh_button, self.progress]), self.status, self.tabs]
        )
        self.add_class("esxnb-dashboard")
        observe_connection(connection, self._connected)
        if connection_of(connection) is None:
            self.status.info("connect first: the dashboard follows the connect form")

    def _connected(self, conn: Any) -> None:
        self.conn = conn
        self._stop_live()
        self.start_refresh()
        if self._live_wanted:
            self.live = conn.watch("domains")
            view = LiveTableView(self.live, columns=[c for c in LIVE_COLUMNS if c in self.live.frame.columns])
            self.live_box.children = [view]

    def start_refresh(self) -> bool:
        """Re-read the estate in the background (False when a read is running or no connection)."""
        if self.conn is None:
            self.status.error("no connection: connect first")
            return False
        self.refresh_button.disabled = True
        self.progress.reset()
        self.status.busy("reading the estate...")
        return self.runner.start(
            self._read,
            on_done=self._show,
            on_error=lambda exc: self.status.error(f"could not read the estate: {error_text(exc)}"),
            on_finally=lambda: setattr(self.refresh_button, "disabled", False),
            name="esxnb-dashboard",
        )

    def refresh(self) -> None:
        """Read and show the estate now, in this thread."""
        self._show(self._read())

    def _read(self) -> tuple[Any, Any]:
        estate = self.conn.estate(progress=self.progress)
        return estate, estate.health(**self.thresholds)

    def _show(self, result: tuple[Any, Any]) -> None:
        from itables.widget import ITable

        self.estate, self.findings = result
        self.figures = kpis(self.estate, self.findings)
        self.cards.value = _cards(self.figures)
        serious = self.findings[self.findings["severity"].astype(str) != "info"]
        shown = serious[["severity", "rule", "entity", "entity_type", "message"]].astype(str)
        self.findings_box.children = [
            widgets.HTML(
                f"{len(serious)} critical and warning finding(s); sort by a header, search in the box."
            ),
            ITable(shown, maxBytes=0, pageLength=10, classes="display compact nowrap"),
        ]
        self.capacity.value = capacity_figure(self.estate)
        self.progress.finish(True, "done")
        taken = getattr(self.estate, "taken_at", None)
        self.status.ok(f"estate read{f' at {taken:%H:%M:%S} UTC' if taken is not None else ''}")

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def close(self) -> None:
        self._stop_live()
        super().close()
