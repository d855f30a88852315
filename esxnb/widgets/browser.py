"""``DomainBrowser``: the domains table, lifecycle buttons for the selection, and a scheduler editor."""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets

from .. import errors
from ._scheduler_panel import SchedulerPanel
from ._common import (
    BackgroundRunner,
    Confirmation,
    StatusArea,
    TaskProgress,
    connection_of,
    error_text,
    observe_connection,
)

__all__ = ["DomainBrowser", "ACTIONS", "DESTRUCTIVE"]

# (Domain method, button label, icon)
ACTIONS = (
    ("start", "Start", "play"),
    ("shutdown", "Shutdown", "power-off"),
    ("reboot", "Reboot", "refresh"),
    ("suspend", "Suspend", "pause"),
    ("resume", "Resume", "play-circle"),
    ("reset", "Reset", "undo"),
    ("destroy", "Destroy", "stop"),
    ("undefine", "Undefine", "trash"),
)
# Actions that lose guest state or the domain itself: asked twice.
DESTRUCTIVE = frozenset({"destroy", "reset", "shutdown", "undefine"})
# Red for what loses data at once; amber for a clean guest shutdown (asked too, but not alike).
BUTTON_STYLES = {"destroy": "danger", "reset": "danger", "undefine": "danger", "shutdown": "warning"}
# The table's look: one line per domain, headers over their cells.
_TABLE_STYLE = (
    "<style>.esxnb-domains th, .esxnb-domains td {white-space: nowrap; text-align: left; "
    "padding: 2px 10px 2px 0}</style>"
)
TABLE_COLUMNS = ("name", "state", "host", "vcpus", "memory_mib", "guest_os", "datastore", "tools_status")


class DomainBrowser(widgets.VBox):
    """Browse domains, run lifecycle actions on the selected ones, edit their CPU scheduler.

    ``connection`` is a Connection or a ConnectForm. State for scripts and tests:
    ``form.domains`` (the DataFrame), ``form.visible`` (after filtering), ``form.selected``,
    ``form.outcomes`` (``{name: "ok" | error text}`` of the last action),
    ``form.scheduler_preview`` / ``form.scheduler_outcome`` (DataFrames).
    """

    def __init__(
        self, connection: Any = None, *, max_rows: int = 200, task_timeout: float | None = None
    ) -> None:
        self._source = connection
        self.max_rows = max_rows
        self.task_timeout = task_timeout
        self.domains: Any = None
        self.visible: Any = None
        self.outcomes: dict[str, str] = {}
        self._names: dict[str, str] = {}  # uuid -> name of the listed domains
        self._runner = BackgroundRunner()

        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.filter = widgets.Text(
            description="Filter", placeholder="name, host, guest OS...", continuous_update=True
        )
        self.state_filter = widgets.Dropdown(
            description="State",
            options=[("any", ""), ("running", "running"), ("paused", "paused"), ("shut off", "shut off")],
        )
        self.table = widgets.HTML(layout=widgets.Layout(max_height="22em", overflow="auto"))
        self.selection = widgets.SelectMultiple(
            description="Selected", rows=8, layout=widgets.Layout(width="40em")
        )
        self.action_buttons = {
            action: widgets.Button(
                description=label,
                icon=icon,
                button_style=BUTTON_STYLES.get(action, ""),
                layout=widgets.Layout(width="auto"),
            )
            for action, label, icon in ACTIONS
        }
        self.confirm_box = Confirmation()
        # the confirmation's parts, under the names scripts and tests have used
        self.confirm_text = self.confirm_box.text
        self.confirm_button, self.abort_button = self.confirm_box.confirm_button, self.confirm_box.keep_button
        self.cancel_button = widgets.Button(description="Cancel", icon="ban", disabled=True)
        self.tasks = widgets.VBox()
        self.status = StatusArea()

        self.scheduler = SchedulerPanel(
            connection=lambda: self.connection,
            selected_uuids=lambda: self.selected_uuids,
            runner=self._runner,
            set_busy=lambda busy: self._set_buttons(not busy),
            after_apply=self._refresh_keep_status,
        )
        # the panel's fields, under the names scripts and tests have used
        self.reservation, self.limit = self.scheduler.reservation, self.scheduler.limit
        self.shares_level, self.shares_value = self.scheduler.shares_level, self.scheduler.shares_value
        self.preview_button, self.apply_button = self.scheduler.preview_button, self.scheduler.apply_button
        self.scheduler_status, self.scheduler_view = self.scheduler.status, self.scheduler.view

        self.refresh_button.on_click(lambda _b: self.refresh())
        self.filter.observe(lambda _c: self._render(), names="value")
        self.state_filter.observe(lambda _c: self._render(), names="value")
        self.selection.observe(self._on_select, names="value")
        for action, button in self.action_buttons.items():
            button.on_click(lambda _b, action=action: self.request(action))
        self.cancel_button.on_click(lambda _b: self.cancel())
        super().__init__(
            [
                widgets.HBox([self.refresh_button, self.filter, self.state_filter]),
                self.table,
                self.selection,
                widgets.HBox(
                    [*self.action_buttons.values(), self.cancel_button],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                self.confirm_box,
                self.status,
                self.tasks,
                self.scheduler,
            ]
        )
        self.add_class("esxnb-domain-browser")
        self.status.info("waiting for a connection" if self.connection is None else "")
        observe_connection(connection, lambda _conn: self.refresh())

    @property
    def connection(self) -> Any:
        return connection_of(self._source)

    @property
    def selected(self) -> tuple[str, ...]:
        """Names of the selected domains."""
        return tuple(self._names.get(uuid, uuid) for uuid in self.selection.value)

    @property
    def selected_uuids(self) -> tuple[str, ...]:
        """BIOS UUIDs of the selected domains (what actions use: names need not be unique)."""
        return tuple(self.selection.value)

    # -- table ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the domains from the server again."""
        connection = self.connection
        if connection is None:
            self.status.error("no connection yet: connect first")
            return
        self._reload(connection)

    def _reload(self, connection: Any) -> bool:
        """Read and show the domains; False (said in the status line) when the server refused."""
        try:
            self.domains = connection.domains()
        except errors.EsxnbError as exc:
            self.status.error(f"cannot list the domains: {error_text(exc)}")
            return False
        self._render()
        return True

    def _render(self) -> None:
        df = self.domains
        if df is None:
            return
        mask = None
        needle = self.filter.value.strip().lower()
        if needle:
            columns = [
                c
                for c in ("name", "host", "guest_os", "datastore", "uuid", "cluster", "folder")
                if c in df.columns
            ]
            text = (
                df[columns]
                .astype(str)
                .apply(lambda column: column.str.lower().str.contains(needle, regex=False))
            )
            mask = text.any(axis=1)
        if self.state_filter.value:
            state_mask = df["state"].astype(str) == self.state_filter.value
            mask = state_mask if mask is None else mask & state_mask
        visible = df[mask] if mask is not None else df
        self.visible = visible
        shown = visible[[c for c in TABLE_COLUMNS if c in visible.columns]].head(self.max_rows)
        more = (
            f"<div style='color:#555'>showing {self.max_rows} of {len(visible)} domains: filter to narrow</div>"
            if len(visible) > self.max_rows
            else ""
        )
        self.table.value = (
            _TABLE_STYLE
            + shown.to_html(index=False, classes="dataframe esxnb-domains", border=0, justify="left")
            + more
        )
        self._names = dict(zip(df["uuid"].astype(str), df["name"].astype(str), strict=True))
        labels = [
            (f"{row.name} · {row.state} · {row.host}", str(row.uuid))
            for row in visible[["name", "state", "host", "uuid"]].head(self.max_rows).itertuples(index=False)
        ]
        # Re-rendering an unchanged list must not touch the selection: a refresh in the
        # background would otherwise write back what was selected before the user's last click.
        if labels != list(self.selection.options):
            offered = {value for _label, value in labels}
            keep = tuple(uuid for uuid in self.selection.value if uuid in offered)
            self.selection.options = labels
            self.selection.value = keep
        if not self._runner.busy:
            self.status.info(f"{len(visible)} of {len(df)} domains")

    def select(self, *names: str) -> None:
        """Select domains by name or BIOS UUID (what clicking in the list does)."""
        offered = [value for _label, value in self.selection.options]
        chosen: list[str] = []
        for wanted in names:
            found = [uuid for uuid in offered if wanted in (uuid, self._names.get(uuid))]
            if not found:
                raise errors.NotFoundError(f"domain {wanted!r} is not in the list (check the filter)")
            chosen.extend(uuid for uuid in found if uuid not in chosen)
        self.selection.value = tuple(chosen)

    def _on_select(self, change: dict) -> None:
        self.scheduler.selection_changed(change["new"])

    # -- the scheduler panel's state and actions, as the browser's -------------------
    @property
    def scheduler_preview(self) -> Any:
        return self.scheduler.preview

    @property
    def scheduler_outcome(self) -> Any:
        return self.scheduler.outcome

    def preview_scheduler(self) -> Any:
        return self.scheduler.preview_changes()

    def apply_scheduler(self) -> bool:
        return self.scheduler.apply_changes()

    # -- lifecycle ------------------------------------------------------------------
    def request(self, action: str) -> None:
        """What an action button does: destructive actions wait for :meth:`confirm`."""
        names, uuids = self.selected, self.selected_uuids
        if not uuids:
            self.status.error(f"select one or more domains to {action}")
            return
        if self._runner.busy:
            self.status.error("an action is still running: wait for it or cancel it")
            return
        if action in DESTRUCTIVE:
            what = {
                "destroy": "power off at once (unsaved guest data is lost)",
                "reset": "hard-reset",
                "shutdown": "shut down the guest OS of",
                "undefine": "unregister (files stay on the datastore)",
            }[action]
            self.confirm_box.ask(
                f"<b style='color:#b42318'>Really {html.escape(what)} {len(names)} domain(s)?</b> "
                f"{html.escape(', '.join(names))}",
                on_confirm=lambda: self._run(action, uuids),
                on_keep=lambda: self.status.info("nothing done"),
            )
            self.status.info(f"confirm to {action} {', '.join(names)}")
            return
        self._run(action, uuids)

    def confirm(self) -> None:
        """What the Confirm button does: run the action waiting for it."""
        self.confirm_box.confirm()

    def cancel(self) -> None:
        """Stop after the current domain; the running server task is cancelled when it can be."""
        self._runner.cancel()
        self.cancel_button.disabled = True
        self.status.busy("cancelling ...")

    def _run(self, action: str, uuids: tuple[str, ...]) -> None:
        connection = self.connection
        if connection is None:
            self.status.error("no connection yet: connect first")
            return
        names = {uuid: self._names.get(uuid, uuid) for uuid in uuids}
        rows = {uuid: TaskProgress(f"{action} {names[uuid]}") for uuid in uuids}
        self.tasks.children = tuple(rows.values())
        self.outcomes = {}
        runner = self._runner

        def job() -> dict[str, str]:
            for uuid in uuids:
                row, name = rows[uuid], names[uuid]
                if runner.cancel_event.is_set():
                    row.finish(False, "not started (cancelled)")
                    self.outcomes[name] = "cancelled"
                    continue
                try:
                    domain = connection.domain(uuid)
                    _call(getattr(domain, action), row, self.task_timeout, runner.cancel_event)
                except errors.EsxnbError as exc:
                    row.finish(False, error_text(exc))
                    self.outcomes[name] = error_text(exc)
                else:
                    row.finish(True, "done")
                    self.outcomes[name] = "ok"
            return self.outcomes

        # The list is read again before the outcome is shown and the buttons come back, so
        # that "done" means the table already shows it, and no refresh runs behind a new click.
        def done(outcomes: dict[str, str]) -> None:
            self._reload(connection)
            failed = {n: o for n, o in outcomes.items() if o != "ok"}
            if failed:
                self.status.error(
                    f"{action}: {len(outcomes) - len(failed)} ok, {len(failed)} not done",
                    detail="; ".join(f"{n}: {o}" for n, o in failed.items()),
                )
            else:
                self.status.ok(f"{action}: done for {', '.join(outcomes)}")

        def failed(exc: BaseException) -> None:
            self._reload(connection)
            self.status.error(error_text(exc))

        def finally_() -> None:
            self.cancel_button.disabled = True
            self._set_buttons(True)

        self._set_buttons(False)
        self.cancel_button.disabled = False
        self.status.busy(f"{action}: {', '.join(names.values())} ...")
        runner.start(job, on_done=done, on_error=failed, on_finally=finally_)

    def _refresh_keep_status(self) -> None:
        """Re-read the domains after an action, keeping the action's outcome in the status line."""
        kind, text, value = self.status.kind, self.status.text, self.status.value
        if self._reload(self.connection) and kind in ("ok", "error"):
            self.status.kind, self.status.text, self.status.value = kind, text, value

    def _set_buttons(self, enabled: bool) -> None:
        for button in (*self.action_buttons.values(), self.apply_button, self.refresh_button):
            button.disabled = not enabled
        if enabled:
            self.apply_button.disabled = self.scheduler.preview is None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a running action; True when none runs any more."""
        return self._runner.wait(timeout)


def _call(method: Any, progress: TaskProgress, timeout: float | None, cancel_event: threading.Event) -> Any:
    """Call a Domain lifecycle method (they all take progress, timeout and cancel_event)."""
    if timeout is None:  # each operation's own default (a shutdown waits 300 s)
        return method(progress=progress, cancel_event=cancel_event)
    return method(progress=progress, timeout=timeout, cancel_event=cancel_event)
