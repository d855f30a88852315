"""The scheduler kind: the ESX CPU scheduler parameters (reservation, limit, shares) — values,
validation, the ``scheduler()`` table and applying an edited one."""

from ._apply import apply_frame
from ._facet import SchedulerFacet
from .._scheduling import (
    EDITABLE_COLUMNS,
    SHARES_LEVELS,
    SchedulerSettings,
    allocation_spec,
    diff_frame,
    settings_from_allocation,
    validate,
    wanted_from_row,
)
from ._table import SCHEDULER

__all__ = [
    "SchedulerSettings",
    "SHARES_LEVELS",
    "validate",
    "settings_from_allocation",
    "allocation_spec",
    "EDITABLE_COLUMNS",
    "diff_frame",
    "wanted_from_row",
    "apply_frame",
    "SchedulerFacet",
    "SCHEDULER",
]
