"""The ESX CPU scheduler parameters (reservation, limit, shares): values, validation, edits.

Values follow the spec: ``reservation`` in MHz (>= 0), ``limit`` in MHz (-1 = unlimited,
else >= the reservation), ``shares`` a number >= 0 (custom) or -1/-2/-3 for the levels
low/normal/high.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim

from . import errors
from ._vocabulary import SHARES_LEVEL_NAMES, SHARES_LEVEL_VALUES

__all__ = [
    "SchedulerSettings",
    "SHARES_LEVELS",
    "validate",
    "settings_from_allocation",
    "allocation_spec",
    "EDITABLE_COLUMNS",
    "diff_frame",
    "wanted_from_row",
    "is_missing",
]

#: libvirt's shares numbers -> level name (the same vocabulary as every table's ``shares_level``).
SHARES_LEVELS = SHARES_LEVEL_NAMES
_LEVEL_VALUES = SHARES_LEVEL_VALUES
# What ESX gives per virtual CPU for each level; sent with the level so the stored number is real.
_SHARES_PER_VCPU = {"low": 500, "normal": 1000, "high": 2000}
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class SchedulerSettings:
    """A domain's scheduler parameters, libvirt-style (``shares`` -1/-2/-3 for the levels)."""

    reservation: int
    limit: int
    shares: int

    @property
    def shares_level(self) -> str:
        return SHARES_LEVELS.get(self.shares, "custom")

    def as_dict(self) -> dict[str, int]:
        return {"reservation": self.reservation, "limit": self.limit, "shares": self.shares}


def settings_from_allocation(allocation: Any) -> SchedulerSettings:
    """The libvirt view of a ResourceAllocationInfo (``config.cpuAllocation``)."""
    reservation = int(getattr(allocation, "reservation", 0) or 0)
    limit = getattr(allocation, "limit", None)
    limit = -1 if limit is None else int(limit)
    shares_info = getattr(allocation, "shares", None)
    level = str(getattr(shares_info, "level", "normal") or "normal")
    if level == "custom":
        shares = int(getattr(shares_info, "shares", 0) or 0)
    elif level in _LEVEL_VALUES:
        shares = _LEVEL_VALUES[level]
    else:
        raise errors.ServerFault(
            f"unexpected CPU shares level {level!r} from the server", fault_type="SharesLevel"
        )
    return SchedulerSettings(reservation, limit, shares)


def _as_int(field: str, value: Any, allowed: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise errors.ValidationError(f"{field} must be an integer ({allowed}), got {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if math.isnan(value) or math.isinf(value) or value != int(value):
        raise errors.ValidationError(f"{field} must be an integer ({allowed}), got {value!r}")
    return int(value)


def validate(
    reservation: Any = None,
    limit: Any = None,
    shares: Any = None,
    *,
    current: SchedulerSettings | None = None,
    domain: str | None = None,
) -> dict[str, int]:
    """Check the given values; returns ``{field: int}`` for those not None.

    ``limit`` is checked against the reservation the domain will have (the new one, else
    ``current``'s); so is a new reservation against the limit that stays.
    """
    who = f" for domain {domain!r}" if domain else ""
    checked: dict[str, int] = {}
    if reservation is not None:
        value = _as_int("reservation", reservation, "MHz, 0 or more")
        if value < 0 or value > _INT64_MAX:
            raise errors.ValidationError(f"cannot set reservation{who} to {value} MHz: expecting 0 or more")
        checked["reservation"] = value
    if limit is not None:
        value = _as_int("limit", limit, "MHz, -1 for unlimited or at least the reservation")
        if value < -1 or value > _INT64_MAX:
            raise errors.ValidationError(
                f"cannot set limit{who} to {value} MHz: expecting -1 (unlimited) or a value >= the reservation"
            )
        checked["limit"] = value
    if shares is not None:
        value = _as_int("shares", shares, "0 or more, or -1/-2/-3 for low/normal/high")
        if (value < 0 and value not in SHARES_LEVELS) or value > _INT32_MAX:
            raise errors.ValidationError(
                f"cannot set shares{who} to {value}: expecting 0 or more (custom), or -1 (low), -2 (normal), -3 (high)"
            )
        checked["shares"] = value
    if not checked:
        raise errors.ValidationError(
            f"no scheduler parameter given{who}: pass reservation=, limit= and/or shares="
        )
    new_reservation = checked.get("reservation", current.reservation if current else None)
    new_limit = checked.get("limit", current.limit if current else None)
    if (
        new_reservation is not None
        and new_limit is not None
        and new_limit != -1
        and new_limit < new_reservation
    ):
        raise errors.ValidationError(
            f"limit{who} would be {new_limit} MHz, below the reservation of {new_reservation} MHz: "
            "the limit must be -1 (unlimited) or >= the reservation"
        )
    return checked


def allocation_spec(values: Mapping[str, int], *, vcpus: int | None = None) -> Any:
    """A ResourceAllocationInfo holding only the given fields, for ``ReconfigVM_Task``."""
    allocation = vim.ResourceAllocationInfo()
    if "reservation" in values:
        allocation.reservation = values["reservation"]
    if "limit" in values:
        allocation.limit = values["limit"]
    if "shares" in values:
        shares = values["shares"]
        if shares >= 0:
            allocation.shares = vim.SharesInfo(level="custom", shares=shares)
        else:
            level = SHARES_LEVELS[shares]
            # The server computes the number itself for a level; send what it will store.
            allocation.shares = vim.SharesInfo(
                level=level, shares=_SHARES_PER_VCPU[level] * max(1, vcpus or 1)
            )
    return allocation


# DataFrame columns a notebook user may edit -> scheduler field.
EDITABLE_COLUMNS = {"reservation_mhz": "reservation", "limit_mhz": "limit", "shares_value": "shares"}


def is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def wanted_from_row(row: Mapping[str, Any], current: SchedulerSettings) -> dict[str, Any]:
    """The values a DataFrame row asks for, per field (raw, not yet validated).

    Shares can be edited in ``shares_value`` (libvirt numbers), ``shares_level`` (a level
    name) or, for a custom level, ``shares``. When these columns disagree, the one that
    differs from the server's current value is the edit; two different edits are an error.
    """
    wanted: dict[str, Any] = {}
    for column, field in EDITABLE_COLUMNS.items():
        if column in row and field != "shares":
            wanted[field] = row[column]
    candidates: list[tuple[str, Any]] = []
    value = row.get("shares_value")
    if "shares_value" in row:
        candidates.append(("shares_value", value))
    level = row.get("shares_level")
    if level is not None and not is_missing(level):
        level = str(level)
        if level in _LEVEL_VALUES:
            candidates.append(("shares_level", _LEVEL_VALUES[level]))
        elif level != "custom":
            raise errors.ValidationError(f"shares_level {level!r} is not one of low, normal, high, custom")
        else:
            number = row.get("shares")
            if number is not None and not is_missing(number):
                candidates.append(("shares", number))
            elif current.shares_level != "custom":
                raise errors.ValidationError("shares_level 'custom' needs a number in shares_value or shares")
    if not candidates:
        return wanted
    edits = [(column, v) for column, v in candidates if is_missing(v) or v != current.shares]
    if not edits:
        wanted["shares"] = current.shares
        return wanted
    distinct = {repr(v) for _column, v in edits}
    if len(distinct) > 1:
        listing = ", ".join(f"{column}={v!r}" for column, v in edits)
        raise errors.ValidationError(
            f"conflicting shares edits ({listing}); change one of these columns only "
            "(shares_value: -1 low, -2 normal, -3 high, or a number >= 0)"
        )
    wanted["shares"] = edits[0][1]
    return wanted


def diff_frame(wanted: Mapping[str, Any], current: SchedulerSettings) -> dict[str, tuple[int, Any]]:
    """``{field: (old, new)}`` for the fields whose wanted value differs from ``current``."""
    changes: dict[str, tuple[int, Any]] = {}
    for field, value in wanted.items():
        if is_missing(value):
            raise errors.ValidationError(f"{field} is empty; give a number")
        old = getattr(current, field)
        if value != old:
            changes[field] = (old, value)
    return changes
