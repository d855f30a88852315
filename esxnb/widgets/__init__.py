"""ipywidgets forms over the esxnb API, one module each.

``ConnectForm`` (-> ``form.connection``), ``ConvertForm`` (VMX <-> domain XML),
``MigrateForm`` (move a domain through vCenter), ``DomainBrowser`` (domains table,
lifecycle buttons, scheduler editor) and ``LiveTableView`` (a ``conn.watch(...)`` table
redrawn as the server changes), ``EstateDashboard`` (KPI cards, findings, capacity, a live
table), ``SnapshotManager`` (a domain's snapshot tree; create, revert, delete) and ``PerfChart``
(a performance counter of chosen VMs or hosts over time), ``EstateExplorer`` (every estate table
in a tab: filter, sort, export) and ``HealthPanel`` (findings, filters, drill-down). Every form displays itself: ``form = ConnectForm(); form``.
The other forms accept a Connection or a ConnectForm (and follow its connection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .browser import DomainBrowser
    from .connect import ConnectForm
    from .convert import ConvertForm
    from .dashboard import EstateDashboard
    from .estate import EstateExplorer
    from .health import HealthPanel
    from .live import LiveTableView
    from .migrate import MigrateForm
    from .perf import PerfChart
    from .snapshots import SnapshotManager

_EXPORTS = {
    "ConnectForm": ".connect",
    "ConvertForm": ".convert",
    "DomainBrowser": ".browser",
    "MigrateForm": ".migrate",
    "LiveTableView": ".live",
    "EstateDashboard": ".dashboard",
    "SnapshotManager": ".snapshots",
    "PerfChart": ".perf",
    "EstateExplorer": ".estate",
    "HealthPanel": ".health",
}
__all__ = [
    "ConnectForm",
    "ConvertForm",
    "DomainBrowser",
    "MigrateForm",
    "LiveTableView",
    "EstateDashboard",
    "SnapshotManager",
    "PerfChart",
    "EstateExplorer",
    "HealthPanel",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
