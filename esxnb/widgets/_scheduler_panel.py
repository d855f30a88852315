"""``SchedulerPanel``: the CPU scheduler editor of the DomainBrowser (reservation, limit, shares
of the selected domains, previewed before they are applied)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from .. import errors
from .._scheduling import EDITABLE_COLUMNS, validate
from .._vocabulary import SHARES_LEVEL_VALUES
from ._common import BackgroundRunner, StatusArea, error_text

__all__ = ["SchedulerPanel", "KEEP"]

KEEP = "keep"
_LEVELS = tuple(SHARES_LEVEL_VALUES)  # low, normal, high


class SchedulerPanel(widgets.VBox):
    """Edit the CPU scheduler of the domains another widget has selected.

    ``connection()`` and ``selected_uuids()`` say what to work on; ``runner`` is shared with the
    owner, so one background job runs at a time; ``set_busy(bool)`` and ``after_apply()`` let the
    owner disable its buttons and re-read its table. ``preview`` and ``outcome`` are the
    DataFrames of the last preview and application.
    """

    def __init__(
        self,
        *,
        connection: Callable[[], Any],
        selected_uuids: Callable[[], Sequence[str]],
        runner: BackgroundRunner,
        set_busy: Callable[[bool], None],
        after_apply: Callable[[], None],
    ) -> None:
        self._connection = connection
        self._selected_uuids = selected_uuids
        self._runner = runner
        self._set_busy = set_busy
        self._after_apply = after_apply
        self.preview: Any = None
        self.outcome: Any = None
        self._edited: Any = None  # the scheduler frame behind the current preview

        self.reservation = widgets.Text(description="Reservation", placeholder=KEEP + " (MHz)")
        self.limit = widgets.Text(description="Limit", placeholder=KEEP + " (MHz, -1 = unlimited)")
        self.shares_level = widgets.Dropdown(
            description="Shares", options=[KEEP, *_LEVELS, "custom"], value=KEEP
        )
        self.shares_value = widgets.IntText(
            description="Custom", value=1000, layout=widgets.Layout(display="none")
        )
        self.preview_button = widgets.Button(description="Preview", icon="eye")
        self.apply_button = widgets.Button(
            description="Apply", button_style="warning", icon="check", disabled=True
        )
        self.status = StatusArea()
        self.view = widgets.HTML()

        self.shares_level.observe(self._on_level, names="value")
        for field in (self.reservation, self.limit, self.shares_level, self.shares_value):
            field.observe(lambda _c: self._edited_fields(), names="value")
        self.preview_button.on_click(lambda _b: self.preview_changes())
        self.apply_button.on_click(lambda _b: self.apply_changes())
        super().__init__(
            [
                widgets.HTML("<b>CPU scheduler of the selected domains</b> (empty = keep)"),
                widgets.HBox([self.reservation, self.limit]),
                widgets.HBox([self.shares_level, self.shares_value]),
                widgets.HBox([self.preview_button, self.apply_button]),
                self.status,
                self.view,
            ],
            layout=widgets.Layout(border="1px solid #ddd", padding="4px"),
        )

    def _forget_preview(self) -> None:
        self.preview = None
        self.apply_button.disabled = True

    def selection_changed(self, uuids: Sequence[str]) -> None:
        """The owner's selection changed: drop the preview; one domain fills in its settings."""
        self._forget_preview()
        self.view.value = ""
        if len(uuids) == 1:
            self._fill(uuids[0])

    def _on_level(self, change: dict) -> None:
        self.shares_value.layout.display = None if change["new"] == "custom" else "none"

    def _fill(self, uuid: str) -> None:
        connection = self._connection()
        if connection is None:
            return
        try:
            current = connection.scheduler()
        except errors.EsxnbError as exc:
            self.status.error(f"cannot read the scheduler settings: {error_text(exc)}")
            return
        rows = current[current["uuid"] == uuid]
        if rows.empty:
            return
        row = rows.iloc[0]
        self.reservation.value = str(int(row["reservation_mhz"]))
        self.limit.value = str(int(row["limit_mhz"]))
        level = str(row["shares_level"])
        self.shares_level.value = level if level in (*_LEVELS, "custom") else KEEP
        if level == "custom":
            self.shares_value.value = int(row["shares"])
        self._forget_preview()
        self.status.info(f"current settings of {row['name']}")

    def _edited_fields(self) -> None:
        """Live validation of the typed values (the full check runs again on Preview)."""
        self._forget_preview()
        try:
            edits = self.edits(require=False)
            if not edits:
                self.status.clear()
                return
            validate(**{EDITABLE_COLUMNS[column]: value for column, value in edits.items()})
        except errors.ValidationError as exc:
            self.status.error(str(exc))
            return
        self.status.info("values look valid: press Preview")

    def edits(self, *, require: bool = True) -> dict[str, int]:
        """The fields to change, as the scheduler DataFrame's columns; ValidationError on bad input."""
        changes: dict[str, int] = {}
        for column, box, label in (
            ("reservation_mhz", self.reservation, "reservation"),
            ("limit_mhz", self.limit, "limit"),
        ):
            text = box.value.strip()
            if not text or text == KEEP:
                continue
            try:
                changes[column] = int(text)
            except ValueError:
                raise errors.ValidationError(f"{label} must be a whole number of MHz, not {text!r}") from None
        level = self.shares_level.value
        if level in SHARES_LEVEL_VALUES:
            changes["shares_value"] = SHARES_LEVEL_VALUES[level]  # libvirt: -1 low, -2 normal, -3 high
        elif level == "custom":
            changes["shares_value"] = int(self.shares_value.value)
        if not changes and require:
            raise errors.ValidationError("nothing to change: fill in a reservation, a limit or shares")
        return changes

    def _edited_frame(self) -> Any:
        connection = self._connection()
        if connection is None:
            raise errors.ValidationError("no connection yet: connect first")
        uuids = self._selected_uuids()
        if not uuids:
            raise errors.ValidationError("select the domains whose scheduler settings you want to change")
        changes = self.edits()
        edited = connection.scheduler()
        rows = edited["uuid"].isin(uuids)
        for column, value in changes.items():
            edited.loc[rows, column] = value
        return edited

    def preview_changes(self) -> Any:
        """Validate and show what would change (``apply_scheduler(dry_run=True)``)."""
        self._forget_preview()
        try:
            edited = self._edited_frame()
            preview = self._connection().apply_scheduler(edited, dry_run=True)
        except errors.EsxnbError as exc:
            self.status.error(error_text(exc))
            self.view.value = ""
            return None
        self.preview = preview
        self._edited = edited
        if len(preview) == 0:
            self.status.info("no change: the values are already set")
            self.view.value = ""
            return preview
        self.view.value = preview.to_html(
            index=False, classes="dataframe esxnb-scheduler-preview", border=0, justify="left"
        )
        self.status.info(f"{len(preview)} change(s) to apply; press Apply")
        self.apply_button.disabled = self._runner.busy
        return preview

    def apply_changes(self) -> bool:
        """Apply the previewed changes in the background; the outcome per domain lands in
        ``outcome``. False when nothing was started."""
        if self.preview is None:
            self.status.error("preview the changes first")
            return False
        connection, edited = self._connection(), self._edited

        def done(outcome: Any) -> None:
            self.outcome = outcome
            changed = outcome[outcome["status"].astype(str) != "unchanged"]
            self.view.value = changed.drop(columns=["uuid"], errors="ignore").to_html(
                index=False, classes="dataframe esxnb-scheduler-outcome", border=0, justify="left"
            )
            failed = int((changed["status"].astype(str) == "error").sum())
            if failed:
                self.status.error(f"{failed} of {len(changed)} domain(s) not changed: see the table")
            else:
                self.status.ok(f"applied to {len(changed)} domain(s): {', '.join(changed['domain'])}")

        def finally_() -> None:
            self._set_busy(False)
            self._after_apply()

        started = self._runner.start(
            lambda: connection.apply_scheduler(edited, dry_run=False),
            on_done=done,
            on_error=lambda exc: self.status.error(error_text(exc)),
            on_finally=finally_,
        )
        if started:
            self.preview = None
            self._set_busy(True)
            self.status.busy("applying ...")
        else:
            self.status.error("an action is still running: wait for it or cancel it")
        return started
