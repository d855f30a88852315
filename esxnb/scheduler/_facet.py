"""What the scheduler kind adds to ``Connection``: ``scheduler()``, ``set_scheduler()``,
``apply_scheduler()``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .._protocol import Facet
from .._tables import read_table
from ..domain import Domain, as_domain
from ..tasks import Progress
from ._apply import apply_frame
from ._table import SCHEDULER

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SchedulerFacet"]


class SchedulerFacet(Facet):
    __slots__ = ()

    def scheduler(self) -> pd.DataFrame:
        """One row per domain with the spec's CPU scheduler parameters: ``reservation_mhz``,
        ``limit_mhz`` (-1 = unlimited), ``shares`` (the number of shares), ``shares_level``
        (low / normal / high / custom) and ``shares_value`` (libvirt's: -1 / -2 / -3 for
        low / normal / high, else the custom number)."""
        return read_table(self._conn, SCHEDULER)

    def set_scheduler(
        self,
        domain: Domain | str,
        reservation: int | None = None,
        limit: int | None = None,
        shares: int | None = None,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Change a domain's CPU reservation/limit (MHz) and shares (spec "Scheduler configuration")."""
        as_domain(self._conn, domain).set_scheduler(
            reservation, limit, shares, progress=progress, timeout=timeout, cancel_event=cancel_event
        )

    def apply_scheduler(self, edited: pd.DataFrame, *, dry_run: bool = True) -> pd.DataFrame:
        """Preview (``dry_run``) or apply the changes made to a ``scheduler()`` DataFrame.

        Dry run: one row per changed field (domain, field, old, new). Otherwise only changed
        domains are reconfigured and the result has one row per domain (domain, uuid,
        status ok/error/unchanged, message). Every row is validated before anything changes.
        """
        return apply_frame(self._conn, edited, dry_run=dry_run)
