"""The whole estate as DataFrames, as RVTools shows it and more: per-VM tables (``vms``,
``vm_cpu``, ``vm_memory``, ``disks``, ``partitions``, ``nics``, ``cdroms``, ``usb``,
``snapshots``, ``tools``), infrastructure (``hosts``, ``clusters``, ``resource_pools``,
``datastores``, ``dv_portgroups``, ``datastore_files``, ``dvports``), all from one bulk
retrieval (``Connection.estate()``; datastore searches and ``FetchDVPorts`` calls besides),
exported to Excel in RVTools' layout or to Parquet, compared over time (``Estate.diff``,
:func:`history`), and audited (``Connection.health()``).
"""

from __future__ import annotations

from ._diff import KEYS, VOLATILE, diff_estates
from ._estate import Estate, read_estate
from ._excel import LAYOUTS, write_excel
from ._facet import ESTATE_TABLES, EstateFacet, table_spec
from ._health import RULES, SEVERITIES, THRESHOLDS, fail_on, health, reaching
from ._history import history
from ._registry import DEFAULT_TABLES, RVTOOLS, TABLES

__all__ = [
    "Estate",
    "read_estate",
    "history",
    "diff_estates",
    "write_excel",
    "health",
    "reaching",
    "fail_on",
    "EstateFacet",
    "table_spec",
    "TABLES",
    "DEFAULT_TABLES",
    "ESTATE_TABLES",
    "RVTOOLS",
    "LAYOUTS",
    "RULES",
    "SEVERITIES",
    "THRESHOLDS",
    "KEYS",
    "VOLATILE",
]
