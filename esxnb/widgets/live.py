"""``LiveTableView``: a live table on screen, the rows that just changed highlighted."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

__all__ = ["LiveTableView"]

_STYLE = (
    "<style>.esxnb-live th, .esxnb-live td {white-space: nowrap; text-align: left; padding: 2px 10px 2px 0}"
    ".esxnb-live tr.esxnb-changed td {background: #fff3c4}</style>"
)


class LiveTableView(widgets.VBox):
    """Shows ``live.frame`` (a :class:`~esxnb._tables.LiveTable`, from ``conn.watch(...)``) and
    redraws when it changes; rows changed in the last ``highlight_s`` seconds are highlighted.
    ``columns`` picks what to show (default: the first eight); Stop ends the watch."""

    def __init__(
        self,
        live: Any,
        *,
        columns: Sequence[str] | None = None,
        max_rows: int = 200,
        highlight_s: float = 10.0,
    ) -> None:
        self.live = live
        self.columns = list(columns) if columns else list(live.frame.columns[:8])
        self.max_rows = max_rows
        self.highlight_s = highlight_s
        self._changed_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self.title = widgets.HTML()
        self.table = widgets.HTML(layout=widgets.Layout(max_height="24em", overflow="auto"))
        self.stop_button = widgets.Button(description="Stop", icon="stop")
        self.stop_button.on_click(lambda _b: self.stop())
        super().__init__([widgets.HBox([self.title, self.stop_button]), self.table])
        self.add_class("esxnb-live-table")
        live.subscribe(self._on_change)
        self.render()

    def stop(self) -> None:
        self.live.stop()
        self.stop_button.disabled = True
        self.render()

    def _on_change(self, live: Any, changes: Any) -> None:
        now = time.monotonic()
        with self._lock:
            for key in changes["moref"]:
                self._changed_at[str(key)] = now
        self.render()

    def render(self) -> None:
        """Draw the table again (what a change does)."""
        live = self.live
        frame = live.frame
        now = time.monotonic()
        with self._lock:
            recent = {k for k, at in self._changed_at.items() if now - at <= self.highlight_s}
        shown = frame[[c for c in self.columns if c in frame.columns]].head(self.max_rows)
        keys = frame[live.key].astype(str).head(self.max_rows).tolist()
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
        body = []
        for key, values in zip(keys, shown.itertuples(index=False)):
            cells = "".join(f"<td>{html.escape('' if _missing(v) else str(v))}</td>" for v in values)
            marked = " class='esxnb-changed'" if key in recent else ""
            body.append(f"<tr data-moref='{html.escape(key)}'{marked}>{cells}</tr>")
        self.table.value = f"{_STYLE}<table class='esxnb-live'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        state = "live" if live.running else "stopped"
        self.title.value = (
            f"<b>{html.escape(live.spec.name)}</b>: {len(frame)} rows, {live.updates} update(s), "
            f"{len(recent)} changed recently — {state}"
        )


def _missing(value: Any) -> bool:
    try:
        import pandas as pd

        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
