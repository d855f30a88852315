"""``SnapshotManager``: a domain's snapshot tree, and taking, reverting to and deleting snapshots
with confirmation, progress and cancel. After every action the tree is read again from the server."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ._common import (
    BackgroundRunner,
    Confirmation,
    StatusArea,
    TaskProgress,
    connection_of,
    error_text,
    observe_connection,
)

__all__ = ["SnapshotManager"]

_INDENT = "\u00a0\u00a0\u00a0\u00a0"  # browsers collapse ordinary spaces in <option> text


class SnapshotManager(widgets.VBox):
    """Manage the snapshots of one domain at a time.

    ``conn_or_form`` is a Connection or a ConnectForm (whose connection is followed);
    ``domain`` preselects a domain by name.
    """

    def __init__(self, conn_or_form: Any = None, domain: str | None = None, *, timeout: float | None = None):
        self._source = conn_or_form
        self.timeout = timeout
        self.runner = BackgroundRunner()
        self.frame: pd.DataFrame | None = None  # the shown domain's snapshots() as last read
        self._wanted = domain

        self.domain_picker = widgets.Dropdown(description="Domain", layout=widgets.Layout(width="36em"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.tree = widgets.Select(description="Snapshots", rows=10, layout=widgets.Layout(width="60em"))
        self.name_text = widgets.Text(description="Name", placeholder="new snapshot name")
        self.description_text = widgets.Text(description="Description", layout=widgets.Layout(width="36em"))
        self.memory_box = widgets.Checkbox(value=True, description="include memory")
        self.quiesce_box = widgets.Checkbox(value=False, description="quiesce")
        self.create_button = widgets.Button(description="Create", button_style="primary", icon="camera")
        self.revert_button = widgets.Button(description="Revert", button_style="warning", icon="undo")
        self.delete_button = widgets.Button(description="Delete", button_style="danger", icon="trash")
        self.children_box = widgets.Checkbox(value=False, description="delete children too")
        self.cancel_button = widgets.Button(description="Cancel", icon="ban", disabled=True)
        self.confirmation = Confirmation(keep_label="Keep it")
        self.progress = TaskProgress("snapshot")
        self.status = StatusArea()

        self.domain_picker.observe(lambda _c: self.refresh(), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.tree.observe(lambda _c: self._picked(), names="value")
        self.children_box.observe(lambda _c: self.confirmation.hide(), names="value")
        self.create_button.on_click(lambda _b: self.start_create())
        self.revert_button.on_click(lambda _b: self.request_revert())
        self.delete_button.on_click(lambda _b: self.request_delete())
        self.cancel_button.on_click(lambda _b: self.cancel())

        super().__init__(
            [
                widgets.HBox([self.domain_picker, self.refresh_button]),
                self.tree,
                widgets.HBox([self.revert_button, self.delete_button, self.children_box]),
                widgets.HBox([self.name_text, self.description_text]),
                widgets.HBox([self.memory_box, self.quiesce_box, self.create_button]),
                self.cancel_button,
                self.confirmation,
                self.progress,
                self.status,
            ]
        )
        self.add_class("esxnb-snapshot-manager")
        self._update_buttons()
        if self.connection is None:
            self.status.info("waiting for a connection")
        observe_connection(conn_or_form, lambda _conn: self._load_domains())

    @property
    def connection(self) -> Any:
        return connection_of(self._source)

    @property
    def selected(self) -> str | None:
        """The name of the snapshot picked in the tree (None when none is)."""
        row = self._selected_row()
        return None if row is None else str(row["name"])

    # -- reading ---------------------------------------------------------------------
    def _load_domains(self) -> None:
        connection = self.connection
        try:
            names = sorted(str(n) for n in connection.domains()["name"])
        except Exception as exc:  # shown, never raised into the notebook
            self.status.error(f"cannot list the domains: {error_text(exc)}")
            return
        wanted = self._wanted if self._wanted in names else self.domain_picker.value
        self._wanted = None  # preselect once; later connections keep what the user picked
        self.domain_picker.options = names
        if wanted not in names:
            wanted = None
        if self.domain_picker.value != wanted:
            self.domain_picker.value = wanted  # its observer reads the tree
        else:
            self.refresh()

    def refresh(self) -> None:
        """Read the chosen domain's snapshot tree from the server again."""
        name = self.domain_picker.value
        connection = self.connection
        self.confirmation.hide()  # a question about the old tree no longer stands
        if connection is None or name is None:
            self.frame = None
            self.tree.options = []
            self._update_buttons()
            if connection is not None:
                self.status.info("choose a domain")
            return
        previous = self._selected_row()
        try:
            frame = connection.domain(name).snapshots()
        except Exception as exc:
            self.status.error(f"cannot read the snapshots of {name}: {error_text(exc)}")
            return
        self.frame = frame
        self.tree.options = [(_label(row), str(row["moref"])) for _i, row in frame.iterrows()]
        keep = None if previous is None else str(previous["moref"])
        self.tree.value = keep if keep in set(frame["moref"].astype(str)) else None
        self._update_buttons()
        if not self.runner.busy:
            current = frame[[_on(c) for c in frame["current"]]]
            where = f", current: {current.iloc[0]['name']}" if not current.empty else ""
            self.status.info(f"{name}: {len(frame)} snapshot(s){where}")

    def select(self, name: str) -> None:
        """Pick the snapshot called ``name`` in the tree (what a click does)."""
        if self.frame is None:
            raise LookupError("no domain chosen")
        rows = self.frame[self.frame["name"] == name]
        if rows.empty:
            raise LookupError(f"{self.domain_picker.value} has no snapshot {name!r}")
        self.tree.value = str(rows.iloc[0]["moref"])

    def _selected_row(self) -> pd.Series | None:
        if self.frame is None or self.tree.value is None:
            return None
        rows = self.frame[self.frame["moref"].astype(str) == self.tree.value]
        return None if rows.empty else rows.iloc[0]

    def _picked(self) -> None:
        """Another snapshot picked: a question about the previous one no longer stands."""
        self.confirmation.hide()
        self._update_buttons()

    def _update_buttons(self, busy: bool | None = None) -> None:
        busy = self.runner.busy if busy is None else busy
        nothing = self._selected_row() is None
        self.revert_button.disabled = busy or nothing
        self.delete_button.disabled = busy or nothing
        self.create_button.disabled = busy or self.domain_picker.value is None
        self.cancel_button.disabled = not busy

    # -- acting ----------------------------------------------------------------------
    def _target(self) -> tuple[str, str, str, int] | None:
        """(domain, snapshot name, its moref, its number of children) for revert/delete; None
        (with the reason shown) when there is none. The moref tells apart two snapshots of one name."""
        domain, row = self.domain_picker.value, self._selected_row()
        if domain is None or row is None:
            self.status.error("choose a domain and a snapshot first")
            return None
        return domain, str(row["name"]), str(row["moref"]), int(row["children"] or 0)

    def request_revert(self) -> None:
        """What the Revert button does: ask, then revert on Confirm."""
        target = self._target()
        if target is None:
            return
        vm, name, moref, _children = target

        def revert() -> None:
            self._start("revert", vm, name, moref=moref)

        self.confirmation.ask(
            f"Really revert <b>{html.escape(vm)}</b> to snapshot <b>{html.escape(name)}</b>? "
            "Its present state is lost unless a snapshot keeps it.",
            on_confirm=revert,
            on_keep=lambda: self.status.info("nothing reverted"),
        )
        self.status.info(f"confirm to revert {vm} to {name}")

    def request_delete(self) -> None:
        """What the Delete button does: ask, then delete on Confirm."""
        target = self._target()
        if target is None:
            return
        vm, name, moref, children = target
        domain, snapshot = html.escape(vm), html.escape(name)
        subtree = bool(self.children_box.value)

        def delete() -> None:
            self._start("delete", vm, name, moref=moref, children=subtree)

        if subtree:
            what = f"snapshot <b>{snapshot}</b> of <b>{domain}</b> and everything below it"
            what += f" ({children} child snapshot(s) and their descendants)" if children else ""
        else:
            what = f"snapshot <b>{snapshot}</b> of <b>{domain}</b>"
            what += f" (its {children} child(ren) stay)" if children else ""
        self.confirmation.ask(
            f"Really delete {what}?",
            on_confirm=delete,
            on_keep=lambda: self.status.info("nothing deleted"),
        )
        self.status.info(f"confirm to delete {name} of {vm}")

    def start_create(self) -> bool:
        """What the Create button does (creating needs no confirmation); False when nothing started."""
        domain = self.domain_picker.value
        name = self.name_text.value.strip()
        if domain is None:
            self.status.error("choose a domain first")
            return False
        if not name:
            self.status.error("a snapshot needs a name")
            return False
        return self._start("create", domain, name)

    def _start(
        self, action: str, domain: str, snapshot: str, *, moref: str | None = None, children: bool = False
    ) -> bool:
        connection = self.connection
        if connection is None:
            self.status.error("no connection yet: connect first")
            return False
        runner, progress = self.runner, self.progress
        description, memory, quiesce = (
            self.description_text.value,
            self.memory_box.value,
            self.quiesce_box.value,
        )
        progress.reset(f"{action} {snapshot}")

        def job() -> str:
            handle = connection.domain(domain)
            options: dict[str, Any] = {
                "progress": progress,
                "timeout": self.timeout,
                "cancel_event": runner.cancel_event,
            }
            if action == "create":
                handle.snapshot_create(
                    snapshot, description=description, memory=memory, quiesce=quiesce, **options
                )
                return f"created snapshot {snapshot!r} of {domain}"
            if action == "revert":
                handle.snapshot(snapshot, moref=moref).revert(**options)
                return f"reverted {domain} to snapshot {snapshot!r}"
            handle.snapshot(snapshot, moref=moref).delete(children=children, **options)
            return f"deleted snapshot {snapshot!r} of {domain}" + (" and its children" if children else "")

        def done(message: str) -> None:
            progress.finish(True, "done")
            self.status.ok(message)
            if action == "create":
                self.name_text.value = ""

        def failed(exc: BaseException) -> None:
            progress.finish(False, "failed")
            self.status.error(f"{action} {snapshot!r} of {domain}: {error_text(exc)}")

        started = runner.start(
            job, on_done=done, on_error=failed, on_finally=self._after, name=f"esxnb-{action}"
        )
        if started:
            self._update_buttons()
            self.status.busy(f"{action} {snapshot!r} of {domain} ...")
        else:
            self.status.error("another snapshot operation is still running")
        return started

    def _after(self) -> None:
        """Read the tree again, keeping what the status line says about the action."""
        kind, text, value = self.status.kind, self.status.text, self.status.value
        try:
            self.refresh()
        finally:
            if self.status.kind != "error" or kind == "error":
                self.status.kind, self.status.text, self.status.value = kind, text, value
            self._update_buttons(busy=False)  # the worker thread is still alive while this runs

    def cancel(self) -> None:
        """Ask the server to cancel the running task (when it allows it)."""
        self.runner.cancel()
        self.cancel_button.disabled = True
        self.status.busy("cancelling ...")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running action; True when nothing runs any more."""
        return self.runner.wait(timeout)


def _label(row: pd.Series) -> str:
    depth = int(row["depth"]) if pd.notna(row["depth"]) else 0
    current = _on(row["current"])
    mark = "● " if current else ""
    parts = [f"{_INDENT * depth}{'└ ' if depth else ''}{mark}{row['name']}"]
    if pd.notna(row["created"]):
        parts.append(f"{row['created']:%Y-%m-%d %H:%M} UTC, {_age(row['age_days'])} old")
    flags = [f for f, on in (("memory", row["has_memory"]), ("quiesced", row["quiesced"])) if _on(on)]
    if flags:
        parts.append("+".join(flags))
    if current:
        parts.append("current")
    if isinstance(row["description"], str) and row["description"]:
        parts.append(row["description"])
    return " · ".join(parts)


def _on(flag: Any) -> bool:
    return not pd.isna(flag) and bool(flag)


def _age(days: Any) -> str:
    if pd.isna(days):
        return "?"
    days = float(days)
    if days >= 1:
        return f"{days:.0f} d"
    hours = days * 24
    return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"
