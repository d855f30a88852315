"""Old home of the inventory tables, kept for imports written against it.

The tables are declared with the table kit (:mod:`esxnb._tables`) in their kinds' homes:
``esxnb.domain`` (DOMAINS), ``esxnb.scheduler`` (SCHEDULER), ``esxnb.host`` (HOSTS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._tables import empty_frame, filter_specs, read_table
from ._vocabulary import CONNECTION_STATES, DOMAIN_STATES, HOST_POWER_STATES, SHARES_LEVELS, TOOLS_STATUSES
from .domain import DOMAINS
from .host import HOSTS
from .scheduler import SCHEDULER

if TYPE_CHECKING:
    import pandas as pd

    from ._protocol import ConnectionLike

__all__ = [
    "domains",
    "scheduler",
    "hosts",
    "domains_columns",
    "domain_specs",
    "DOMAIN_STATES",
    "TOOLS_STATUSES",
    "SHARES_LEVELS",
    "CONNECTION_STATES",
    "HOST_POWER_STATES",
]


def domains(conn: ConnectionLike) -> pd.DataFrame:
    return read_table(conn, DOMAINS)


def scheduler(conn: ConnectionLike) -> pd.DataFrame:
    return read_table(conn, SCHEDULER)


def hosts(conn: ConnectionLike) -> pd.DataFrame:
    return read_table(conn, HOSTS)


def domains_columns() -> pd.DataFrame:
    """An empty ``domains()`` table: its columns with their dtypes."""
    return empty_frame(DOMAINS)


def domain_specs(conn: ConnectionLike) -> list[Any]:
    """The PropertyCollector filter specs behind ``conn.domains()`` (for benchmarks and debugging)."""
    return filter_specs(conn, [DOMAINS])
