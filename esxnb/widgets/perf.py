"""``PerfChart``: performance samples of chosen VMs or hosts as a line chart (drawn with
:func:`esxnb.plot.over_time`) and a table of the last values, redrawn when a picker changes and,
with auto refresh on, every few seconds from a background thread."""

from __future__ import annotations

import base64
import html
import io
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pandas as pd

from .. import plot
from ._common import StatusArea, connection_of, error_text, observe_connection

__all__ = ["PerfChart"]

DEFAULT_COUNTER = "cpu.usage.average"


class PerfChart(widgets.VBox):
    """A live chart of one counter for several VMs or hosts.

    ``conn_or_form`` is a Connection or a ConnectForm (whose connection is followed). ``.refresh()``
    queries and draws synchronously; picker changes redraw after ``debounce`` seconds.
    """

    def __init__(self, conn_or_form: Any = None, *, debounce: float = 0.4, period: int = 20) -> None:
        self._source = conn_or_form
        self.debounce = debounce
        self.frame: pd.DataFrame | None = None
        self.figure: Any = None
        self._loading = False
        self._lock = threading.Lock()  # one query and drawing at a time, whoever asks
        self._timer: threading.Timer | None = None
        self._stop = threading.Event()
        self._auto_thread: threading.Thread | None = None
        self._closed = False
        self._changes = 0  # picker changes so far
        self._drawn = 0  # the picker changes the last query saw

        self.kind = widgets.ToggleButtons(options=[("VMs", "vm"), ("hosts", "host")], value="vm")
        self.entities = widgets.SelectMultiple(
            description="Show", rows=8, layout=widgets.Layout(width="30em")
        )
        self.counter = widgets.Dropdown(description="Counter", layout=widgets.Layout(width="30em"))
        self.interval = widgets.Dropdown(description="Interval")
        self.max_samples = widgets.IntSlider(value=60, min=5, max=360, step=5, description="Samples")
        self.auto_refresh = widgets.Checkbox(value=False, description="auto refresh")
        self.period = widgets.BoundedIntText(value=period, min=2, max=3600, description="every (s)")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.output = widgets.Output(layout=widgets.Layout(min_height="3em"))
        self.table = widgets.HTML()
        self.status = StatusArea()

        self.kind.observe(lambda _c: self._load_entities(), names="value")
        for picker in (self.entities, self.counter, self.interval, self.max_samples):
            picker.observe(lambda _c: self._picked(), names="value")
        self.auto_refresh.observe(lambda change: self._toggle_auto(bool(change["new"])), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())

        super().__init__(
            [
                widgets.HBox([self.kind, self.refresh_button]),
                widgets.HBox([self.entities, widgets.VBox([self.counter, self.interval, self.max_samples])]),
                widgets.HBox([self.auto_refresh, self.period]),
                self.output,
                self.table,
                self.status,
            ]
        )
        self.add_class("esxnb-perf-chart")
        if self.connection is None:
            self.status.info("waiting for a connection")
        observe_connection(conn_or_form, lambda _conn: self._load())

    @property
    def connection(self) -> Any:
        return connection_of(self._source)

    # -- pickers -----------------------------------------------------------------------
    def _load(self) -> None:
        """Fill the counter and interval pickers and the entity list from the server."""
        connection = self.connection
        try:
            counters = list(connection.perf_counters()["name"])
            intervals = connection.perf_intervals()
        except Exception as exc:  # shown, never raised into the notebook
            self.status.error(f"cannot read the performance counters: {error_text(exc)}")
            return
        self._loading = True
        try:
            keep = self.counter.value
            self.counter.options = counters
            self.counter.value = (
                keep if keep in counters else (DEFAULT_COUNTER if DEFAULT_COUNTER in counters else None)
            )
            names = [str(n) for n in intervals[intervals["enabled"].astype(bool)]["name"]]
            keep = self.interval.value
            self.interval.options = names
            self.interval.value = keep if keep in names else names[0]
        finally:
            self._loading = False
        self._load_entities()

    def _load_entities(self) -> None:
        connection = self.connection
        if connection is None:
            return
        try:
            if self.kind.value == "vm":
                domains = connection.domains()
                running = domains["state"] == "running"
                ordered = pd.concat(
                    [domains[running].sort_values("name"), domains[~running].sort_values("name")]
                )
                options = [(f"{row.name} ({row.state})", str(row.name)) for row in ordered.itertuples()]
            else:
                hosts = connection.hosts().sort_values("name")
                options = [
                    (f"{row.name} ({row.connection_state})", str(row.name)) for row in hosts.itertuples()
                ]
        except Exception as exc:
            self.status.error(f"cannot list the {self.kind.label}: {error_text(exc)}")
            return
        self._loading = True
        try:
            keep = [v for v in self.entities.value if v in {value for _label, value in options}]
            self.entities.options = options
            self.entities.value = tuple(keep)
        finally:
            self._loading = False
        self._picked()

    def _picked(self) -> None:
        """A picker changed: redraw soon (several quick changes make one query)."""
        if self._loading or self._closed:
            return
        self._changes += 1
        if self._timer is not None:
            self._timer.cancel()
        if not self.entities.value:
            self.status.info(f"choose one or more {self.kind.label}")
            return
        self._timer = threading.Timer(self.debounce, self._refresh_quietly, args=(self._changes,))
        self._timer.daemon = True
        self._timer.start()

    def _refresh_quietly(self, change: int) -> None:
        # a refresh that already saw this change (an explicit one, say) makes this one needless
        self._refresh(lambda: not self._closed and self._drawn < change)

    # -- drawing -----------------------------------------------------------------------
    def refresh(self) -> bool:
        """Query the chosen counter for the chosen entities and redraw; False (and the reason in the
        status line) when there is nothing to draw."""
        return self._refresh(lambda: True)

    def _refresh(self, needed: Callable[[], bool]) -> bool:
        with self._lock:
            if not needed():
                return False
            self._drawn = self._changes
            try:
                return self._draw()
            except Exception as exc:  # shown, never raised into the notebook
                self.status.error(error_text(exc))
                return False

    def _draw(self) -> bool:
        connection = self.connection
        names = list(self.entities.value)
        counter, interval = self.counter.value, self.interval.value
        if connection is None:
            self.status.error("no connection yet: connect first")
            return False
        if not names:
            self.status.error(f"choose one or more {self.kind.label} first")
            return False
        if counter is None or interval is None:
            self.status.error("choose a counter and an interval")
            return False
        self.status.busy(f"reading {counter} ...")
        frame = connection.perf(names, counter, interval=interval, max_samples=self.max_samples.value)
        self.frame = frame
        missing = [n for n in names if n not in set(frame["entity"].astype(str))]
        if frame.empty:
            self._show(None)
            self.table.value = ""
            self.status.error(
                f"no {interval} samples of {counter} for {', '.join(names)}"
                " (a VM that is not running has none; the counter or interval may not be collected)"
            )
            return False
        self._show(frame)
        self.table.value = _last_values(frame)
        text = f"{counter}, {interval}: {frame['time'].max():%H:%M:%S} UTC is the newest sample"
        if missing:
            self.status.info(f"{text}; no samples for {', '.join(missing)}")
        else:
            self.status.ok(text)
        return True

    def _show(self, frame: pd.DataFrame | None) -> None:
        from matplotlib.figure import Figure

        if frame is None:
            self.figure = None
            self.output.outputs = ()
            return
        # a Figure of its own (not pyplot): drawn from worker threads, never shown twice by the backend
        figure = Figure(figsize=(9, 3.5), layout="constrained")
        plot.over_time(frame, counter=str(frame["counter"].iloc[0]), top=None, ax=figure.subplots())
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        self.figure = figure
        # set as output data so worker threads can draw without a kernel's output capture
        self.output.outputs = (
            {
                "output_type": "display_data",
                "data": {
                    "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                    "text/plain": f"<{frame['counter'].iloc[0]} chart>",
                },
                "metadata": {},
            },
        )

    # -- auto refresh ------------------------------------------------------------------
    def _toggle_auto(self, on: bool) -> None:
        if on and not self._closed:
            self._stop_auto()
            self._stop = threading.Event()
            self._auto_thread = threading.Thread(
                target=self._auto_loop, args=(self._stop,), name="esxnb-perf-auto-refresh", daemon=True
            )
            self._auto_thread.start()
        else:
            self._stop_auto()

    def _auto_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.refresh()
            stop.wait(max(1, int(self.period.value)))

    def _stop_auto(self) -> None:
        self._stop.set()
        thread = self._auto_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        self._auto_thread = None

    @property
    def auto_running(self) -> bool:
        return self._auto_thread is not None and self._auto_thread.is_alive()

    def close(self) -> None:
        """Stop the auto refresh thread and any pending redraw, then close the widgets."""
        self._closed = True
        timer = self._timer
        if timer is not None:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join(timeout=30)  # a redraw already under way finishes first
        self._stop_auto()
        self.auto_refresh.value = False
        super().close()


def _last_values(frame: pd.DataFrame) -> str:
    last = frame.sort_values("time").groupby("entity", observed=True).tail(1).sort_values("entity")
    rows = "".join(
        f"<tr><td>{html.escape(str(r.entity))}</td><td>{r.time:%Y-%m-%d %H:%M:%S}</td>"
        f"<td style='text-align:right'>{float(r.value):.2f} {html.escape(str(r.unit))}</td></tr>"
        for r in last.itertuples()
    )
    return (
        "<table class='esxnb-perf-last'><tr><th>entity</th><th>last sample (UTC)</th><th>value</th></tr>"
        f"{rows}</table>"
    )
