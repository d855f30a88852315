"""``HealthPanel``: the estate's health findings with severity colours, filters by severity and
rule, a drill-down to the entity behind a finding, and thresholds to re-check with."""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as widgets

from .. import errors
from ._common import BackgroundRunner, StatusArea, TaskProgress, connection_of, error_text, observe_connection
from .estate import GRID_OPTIONS

__all__ = ["HealthPanel", "SEVERITY_COLOURS", "entity_details"]

SEVERITY_COLOURS = {"critical": "#b42318", "warning": "#b54708", "info": "#555555"}
# Which estate table holds the entity of a finding.
_TABLE_OF = {"VirtualMachine": "vms", "HostSystem": "hosts", "Datastore": "datastores"}
_COLUMNS = ["severity", "rule", "entity", "entity_type", "message", "value", "threshold"]


def _badge(severity: str) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#555")
    return f"<span style='color:{colour};font-weight:600'>{html.escape(severity)}</span>"


def entity_details(estate: Any, entity_type: str, moref: str) -> dict[str, Any]:
    """The entity's row in its estate table (VMs, hosts, datastores) as a dict, with the number
    of disks, NICs and snapshots of a VM; empty when the estate has no such row."""
    table = _TABLE_OF.get(entity_type)
    if table is None or table not in estate:
        return {}
    frame = estate[table]
    rows = frame[frame["moref"] == moref]
    if rows.empty:
        return {}
    details = {k: v for k, v in rows.iloc[0].items() if not _missing(v)}
    if entity_type == "VirtualMachine":
        for related in ("disks", "nics", "snapshots"):
            if related in estate:
                details[related] = int((estate[related]["vm_moref"] == moref).sum())
    return details


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class HealthPanel(widgets.VBox):
    """Health findings of an estate: counts per severity and rule, the findings in a data grid
    (select one to see its entity), severity and rule filters, thresholds and Re-check.

    ``source`` is an Estate, a Connection or a ConnectForm (the estate is read in the background).
    State for scripts and tests: ``.estate``, ``.findings`` (all), ``.shown`` (after the
    filters), ``.details`` (the drilled-down entity), ``.drill(i)``, ``.recheck()``.
    """

    def __init__(self, source: Any = None, *, thresholds: dict[str, float] | None = None) -> None:
        from itables.widget import ITable

        from ..estate import SEVERITIES, THRESHOLDS, Estate

        self._source = None if isinstance(source, Estate) else source
        self.estate: Any = source if isinstance(source, Estate) else None
        self.findings: Any = None
        self.shown: Any = None
        self.details: dict[str, Any] = {}
        self.runner = BackgroundRunner()
        self.summary = widgets.HTML()
        self.severity_boxes = {
            s: widgets.Checkbox(value=True, description=s, indent=False) for s in SEVERITIES
        }
        self.rule_picker = widgets.Dropdown(description="Rule", options=[("all rules", "")])
        for box in (*self.severity_boxes.values(), self.rule_picker):
            box.observe(lambda _c: self.apply_filters(), names="value")
        self._grid_options = {**GRID_OPTIONS, "select": {"style": "single"}, "allow_html": True}
        self.grid = ITable(None, **self._grid_options)
        self.grid.observe(self._selected, names="selected_rows")
        self.detail = widgets.HTML()
        self.threshold_boxes = {
            name: widgets.FloatText(
                value=float((thresholds or {}).get(name, default)),
                description=name,
                style={"description_width": "12em"},
            )
            for name, default in THRESHOLDS.items()
        }
        # Thresholds the rules do not know reach health() unchanged, so its ValidationError names them.
        self._unknown = {k: v for k, v in (thresholds or {}).items() if k not in THRESHOLDS}
        self.recheck_button = widgets.Button(description="Re-check", icon="refresh")
        self.recheck_button.on_click(lambda _b: self.recheck())
        self.progress = TaskProgress("Reading the estate")
        self.status = StatusArea()
        settings = widgets.Accordion([widgets.VBox(list(self.threshold_boxes.values()))])
        settings.set_title(0, "Thresholds")
        settings.selected_index = None
        super().__init__(
            [
                self.summary,
                widgets.HBox([*self.severity_boxes.values(), self.rule_picker]),
                self.grid,
                self.detail,
                settings,
                widgets.HBox([self.recheck_button, self.progress]),
                self.status,
            ]
        )
        self.add_class("esxnb-health-panel")
        if self.estate is not None:
            self.progress.layout.display = "none"
            self.evaluate()
        else:
            observe_connection(source, lambda _conn: self.recheck())
            if connection_of(source) is None:
                self.status.info("connect first: the panel follows the connect form")

    @property
    def thresholds(self) -> dict[str, float]:
        return {name: box.value for name, box in self.threshold_boxes.items()}

    def recheck(self) -> bool:
        """Read the estate again (when there is a connection) and recompute the findings with
        the thresholds shown; False when nothing started."""
        conn = connection_of(self._source)
        if conn is None:
            self.evaluate()
            return self.estate is not None
        self.recheck_button.disabled = True
        self.progress.reset()
        self.status.busy("reading the estate...")

        def done(estate: Any) -> None:
            self.estate = estate
            self.progress.finish(True, "done")
            self.evaluate()

        def failed(exc: BaseException) -> None:
            self.progress.finish(False, "failed")
            self.status.error(f"could not read the estate: {error_text(exc)}")

        return self.runner.start(
            lambda: conn.estate(progress=self.progress),
            on_done=done,
            on_error=failed,
            on_finally=lambda: setattr(self.recheck_button, "disabled", False),
            name="esxnb-health-panel",
        )

    def evaluate(self) -> None:
        """Recompute the findings of the estate held, with the thresholds shown."""
        from ..estate import RULES, SEVERITIES

        if self.estate is None:
            self.status.error("no estate yet: connect or pass one")
            return
        try:
            bad = [f"{name}={value}" for name, value in self.thresholds.items() if not math.isfinite(value)]
            if bad:
                raise errors.ValidationError(
                    f"threshold(s) {', '.join(bad)}: a threshold must be a finite number"
                )
            findings = self.estate.health(**self.thresholds, **self._unknown)
        except errors.EsxnbError as exc:
            self.status.error(str(exc))
            return
        self.findings = findings
        counts = findings["severity"].astype(str).value_counts()
        cards = " ".join(f"{_badge(s)}: <b>{counts.get(s, 0)}</b>" for s in reversed(SEVERITIES))
        per_rule = findings.groupby("rule", observed=True)["severity"].agg(["count", "max"])
        docs = {rule.name: rule.doc for rule in RULES}
        rows = "".join(
            f"<tr><td>{_badge(str(worst))}</td><td>{html.escape(rule)}</td><td>{count}</td>"
            f"<td>{html.escape(docs.get(rule, ''))}</td></tr>"
            for rule, (count, worst) in per_rule.sort_values(["max", "count"], ascending=False).iterrows()
        )
        self.summary.value = (
            f"<div>{len(findings)} finding(s): {cards}</div>"
            "<table class='esxnb-health-rules' style='border-collapse:collapse'>"
            "<tr><th align='left'>worst</th><th align='left'>rule</th><th align='left'>findings</th>"
            f"<th align='left'>checks</th></tr>{rows}</table>"
        )
        self.rule_picker.options = [("all rules", "")] + [(r, r) for r in sorted(per_rule.index)]
        self.apply_filters()
        skipped = findings.attrs.get("skipped") or []
        self.status.ok(
            f"{len(findings)} finding(s)"
            + (f"; rules skipped (tables missing): {', '.join(skipped)}" if skipped else "")
        )

    def apply_filters(self) -> None:
        """Show the findings of the ticked severities and the chosen rule."""
        if self.findings is None:
            return
        wanted = {s for s, box in self.severity_boxes.items() if box.value}
        shown = self.findings[self.findings["severity"].astype(str).isin(wanted)]
        if self.rule_picker.value:
            shown = shown[shown["rule"] == self.rule_picker.value]
        self.shown = shown.reset_index(drop=True)
        view = self.shown[_COLUMNS].astype(str)
        view["severity"] = view["severity"].map(_badge)
        self.grid.update(view, selected_rows=[], **self._grid_options)
        self.detail.value = ""
        self.details = {}

    def _selected(self, change: dict) -> None:
        if change["new"]:
            self.drill(change["new"][0])

    def drill(self, index: int) -> dict[str, Any]:
        """Show (and return) the entity behind the ``index``-th finding shown."""
        if self.shown is None or not 0 <= index < len(self.shown):
            raise errors.ValidationError(
                f"no finding {index} among the {0 if self.shown is None else len(self.shown)} shown"
            )
        finding = self.shown.iloc[index]
        self.details = entity_details(self.estate, str(finding["entity_type"]), str(finding["moref"]))
        rows = "".join(
            f"<tr><th align='left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.details.items()
        )
        title = f"{html.escape(str(finding['entity_type']))} <b>{html.escape(str(finding['entity']))}</b>"
        body = (
            f"<table class='esxnb-health-detail'>{rows}</table>"
            if rows
            else "<i>not in the estate's tables</i>"
        )
        self.detail.value = f"<div>{_badge(str(finding['severity']))} {title}: {html.escape(str(finding['message']))}</div>{body}"
        return self.details
