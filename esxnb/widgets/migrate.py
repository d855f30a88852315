"""``MigrateForm``: pick a domain and a destination host of the same vCenter, confirm, migrate with
progress. Nothing is preselected (a training room is full of double clicks): the destination
starts at "choose a host", a single filtered domain is not picked for you, and after a move
both pickers are cleared."""

from __future__ import annotations

from typing import Any

import html

import ipywidgets as widgets

from .. import errors
from ._common import (
    BackgroundRunner,
    Confirmation,
    StatusArea,
    TaskProgress,
    connection_of,
    error_text,
    observe_connection,
)

__all__ = ["MigrateForm", "CHOOSE_HOST"]

#: The destination picker's first entry: no host until the user picks one.
CHOOSE_HOST = "choose a host"


class MigrateForm(widgets.VBox):
    """Migrate a domain to another host through the vCenter managing both.

    ``connection`` (a Connection or a ConnectForm) must know a vCenter: a ``vpx://`` URI or
    ``esx://...?vcenter=``. Domains come from ``connection.domains()``, destinations from
    ``connection.migration_destinations()`` (the hosts of the vCenter's datacenter).
    ``form.result`` is the :class:`~esxnb.migration.MigrationResult`.
    """

    def __init__(self, connection: Any = None, *, timeout: float | None = None) -> None:
        self._source = connection
        self.timeout = timeout
        self.result: Any = None
        self.domains: Any = None
        self.hosts: Any = None
        self._runner = BackgroundRunner()
        self._moved = False

        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.filter = widgets.Text(
            description="Filter", placeholder="part of a domain name", continuous_update=True
        )
        self.domain = widgets.Select(description="Domain", rows=8, layout=widgets.Layout(width="36em"))
        self.destination = widgets.Dropdown(description="To host", layout=widgets.Layout(width="36em"))
        self.migrate_button = widgets.Button(description="Migrate", button_style="primary", icon="truck")
        self.confirmation = Confirmation(keep_label="Keep it")
        self.cancel_button = widgets.Button(description="Cancel", icon="ban", disabled=True)
        self.progress = TaskProgress("migration")
        self.status = StatusArea()

        self.refresh_button.on_click(lambda _b: self.refresh())
        self.filter.observe(lambda _c: self._show_domains(), names="value")
        self.domain.observe(lambda _c: self._show_destinations(), names="value")
        self.destination.observe(lambda _c: self._update_button(), names="value")
        self.migrate_button.on_click(lambda _b: self.request_migration())
        self.cancel_button.on_click(lambda _b: self.cancel())

        super().__init__(
            [
                widgets.HBox([self.refresh_button, self.filter]),
                self.domain,
                self.destination,
                widgets.HBox([self.migrate_button, self.cancel_button]),
                self.confirmation,
                self.progress,
                self.status,
            ]
        )
        self.add_class("esxnb-migrate-form")
        self.migrate_button.disabled = True
        if self.connection is None:
            self.status.info("waiting for a connection")
        observe_connection(connection, lambda _conn: self.refresh())

    @property
    def connection(self) -> Any:
        return connection_of(self._source)

    # -- pickers -------------------------------------------------------------------
    def refresh(self) -> None:
        """Read domains and the vCenter's hosts again."""
        connection = self.connection
        if connection is None:
            self.status.error("no connection yet: connect first")
            return
        vcenter = connection.vcenter
        if vcenter is None:
            self.status.error(
                f"{connection.uri} knows no vCenter, and migration goes through one: connect with a "
                "vpx://VCENTER/DATACENTER/[CLUSTER/]HOST URI or add ?vcenter=* to the esx:// URI"
            )
            return
        try:
            self.domains = connection.domains()
            self.hosts = connection.migration_destinations()
        except errors.EsxnbError as exc:
            self.status.error(f"cannot read the inventory: {error_text(exc)}")
            return
        self._show_domains()
        if not self._runner.busy:
            self.status.info(
                f"{len(self.domains)} domains, {len(self.hosts)} hosts in vCenter {vcenter.uri.hostname}"
            )

    def _show_domains(self) -> None:
        df = self.domains
        if df is None:
            return
        needle = self.filter.value.strip().lower()
        if needle:
            df = df[df["name"].astype(str).str.lower().str.contains(needle, regex=False)]
        previous = self.domain.value
        options = [
            (f"{row.name} (on {row.host}, {row.state})", str(row.uuid)) for row in df.itertuples(index=False)
        ]
        self.domain.options = options
        values = [value for _label, value in options]
        self.domain.value = previous if previous in values else None
        self._show_destinations()

    def _row(self, uuid: str | None) -> Any:
        if uuid is None or self.domains is None:
            return None
        rows = self.domains[self.domains["uuid"] == uuid]
        return rows.iloc[0] if not rows.empty else None

    def _current_host(self, uuid: str | None) -> str | None:
        row = self._row(uuid)
        return None if row is None else str(row["host"])

    def _show_destinations(self) -> None:
        if self.hosts is None:
            return
        current = self._current_host(self.domain.value)
        options = []
        for row in self.hosts.itertuples(index=False):
            if str(row.name) == current:
                continue
            where = row.cluster if isinstance(row.cluster, str) and row.cluster else row.compute_resource
            options.append((f"{row.name} ({where}, {row.connection_state})", str(row.path)))
        previous = self.destination.value
        self.destination.options = [(CHOOSE_HOST, None), *options]
        values = [value for _label, value in options]
        self.destination.value = previous if previous in values else None
        self._update_button()

    def _update_button(self) -> None:
        """Migrate needs a domain and a destination; a question about another choice no longer stands."""
        self.confirmation.hide()
        self.migrate_button.disabled = (
            self._runner.busy or self.domain.value is None or self.destination.value is None
        )

    def choose(self, domain: str, host: str) -> None:
        """Pick a domain (name or BIOS UUID) and a destination host by name (what the pickers do)."""
        self.filter.value = ""
        matches = self.domains[(self.domains["name"] == domain) | (self.domains["uuid"] == domain)]
        if matches.empty:
            raise errors.NotFoundError(f"domain {domain!r} is not in the list")
        if len(matches) > 1:
            raise errors.ValidationError(f"several domains are called {domain!r}: pick one by its BIOS UUID")
        self.domain.value = str(matches.iloc[0]["uuid"])
        paths = {str(row.name): str(row.path) for row in self.hosts.itertuples(index=False)}
        if host not in paths or paths[host] not in [
            value for _label, value in self.destination.options if value
        ]:
            raise errors.NotFoundError(f"host {host!r} is not a possible destination for {domain}")
        self.destination.value = paths[host]

    # -- migrating ------------------------------------------------------------------
    def request_migration(self) -> None:
        """What the Migrate button does: ask, then migrate on Confirm."""
        row, path = self._row(self.domain.value), self.destination.value
        if row is None or path is None:
            self.status.error("choose a domain and a destination host first")
            return
        self.confirmation.ask(
            f"<b>Migrate {html.escape(str(row['name']))}</b> from {html.escape(str(row['host']))} "
            f"to <b>{html.escape(_last(path))}</b>?",
            on_confirm=self.start_migration,
            on_keep=lambda: self.status.info("nothing moved"),
        )
        self.status.info(f"confirm to migrate {row['name']}")

    def confirm(self) -> None:
        """What the Confirm button does."""
        self.confirmation.confirm()

    def start_migration(self) -> bool:
        """Migrate in the background (what the button does); False when nothing was started."""
        connection = self.connection
        uuid, path = self.domain.value, self.destination.value
        row = self._row(uuid)
        if connection is None or row is None or path is None:
            self.status.error("choose a domain and a destination host first")
            return False
        runner = self._runner
        progress = self.progress
        name = str(row["name"])
        progress.reset(f"{name} → {_last(path)}")

        def job() -> Any:
            # the host's vpx path, resolved on the source's vCenter session (no second login)
            return connection.migrate(
                uuid, path, progress=progress, timeout=self.timeout, cancel_event=runner.cancel_event
            )

        started = runner.start(job, on_done=self._done, on_error=self._failed, on_finally=self._idle)
        if started:
            self.result = None
            self.migrate_button.disabled = True
            self.cancel_button.disabled = False
            self.status.busy(f"migrating {name} to {_last(path)} ...")
        return started

    def cancel(self) -> None:
        """Ask the vCenter to cancel the relocation task (when it allows it)."""
        self._runner.cancel()
        self.cancel_button.disabled = True
        self.status.busy("cancelling the migration ...")

    def wait(self, timeout: float | None = None) -> bool:
        return self._runner.wait(timeout)

    def _done(self, result: Any) -> None:
        self.result = result
        self._moved = True
        self.progress.finish(True, f"done in {result.duration_s:.1f} s")
        self.status.ok(
            f"{result.domain} is now on {result.destination_host} (was on {result.source_host}; "
            f"{result.duration_s:.1f} s)"
        )

    def _failed(self, exc: BaseException) -> None:
        self.progress.finish(False, "failed")
        self.status.error(error_text(exc))

    def _idle(self) -> None:
        self.cancel_button.disabled = True
        try:
            self.refresh_after()
            if self._moved:  # a second click must not move it (or the next one) again
                self.domain.value = None
                self._show_destinations()
                self.destination.value = None
        finally:
            self._moved = False
            self.migrate_button.disabled = self.domain.value is None or self.destination.value is None

    def refresh_after(self) -> None:
        """Re-read the inventory so the pickers show where domains are now, keeping the status."""
        kind, text, value = self.status.kind, self.status.text, self.status.value
        self.refresh()
        self.status.kind, self.status.text, self.status.value = kind, text, value


def _last(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]
