"""What the host kind adds to ``Connection``: ``hosts()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._protocol import Facet
from .._tables import read_table
from ._table import HOSTS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HostFacet"]


class HostFacet(Facet):
    __slots__ = ()

    def hosts(self) -> pd.DataFrame:
        """One row per host in scope: ``name``, ``datacenter``, ``cluster``,
        ``compute_resource``, ``path`` (the host's vpx:// URI path), ``connection_state``,
        ``power_state``, ``vms`` (count), ``cpu_cores``, ``cpu_mhz``, ``memory_mib``, ``moref``."""
        return read_table(self._conn, HOSTS)
