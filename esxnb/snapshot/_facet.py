"""What the snapshot kind adds to ``Connection``: ``snapshots()`` of every domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._protocol import Facet
from .._tables import read_table
from ._table import SNAPSHOTS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SnapshotFacet"]


class SnapshotFacet(Facet):
    __slots__ = ()

    def snapshots(self) -> pd.DataFrame:
        """One row per snapshot of every domain in scope, from one bulk retrieval: ``domain``,
        ``name``, ``description``, ``created`` (UTC), ``age`` / ``age_days``, ``state`` (the
        power state it restores: running, shutoff, paused), ``has_memory``, ``quiesced``,
        ``parent``, ``current``, ``depth`` (0 for a root), ``children``, ``id``, ``size_mib``
        (where the server reports file layouts), ``moref``, ``domain_uuid``, ``vm_moref``."""
        return read_table(self._conn, SNAPSHOTS)
