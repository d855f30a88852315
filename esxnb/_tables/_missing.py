"""Properties the server would not show (a restricted account's ``NoPermission``...): listed on
the table they leave incomplete and announced with a warning, never shown as if unset."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ..errors import IncompleteDataWarning
from .._fastpc import Refused
from ._spec import TableSpec

__all__ = ["refused_for"]


def _overlaps(path: str, wanted: Sequence[str]) -> bool:
    # "config" refused hides "config.hardware.memoryMB"; "config.annotation" refused hides a
    # part of a requested "config"
    return any(path == p or p.startswith(path + ".") or path.startswith(p + ".") for p in wanted)


def refused_for(spec: TableSpec, refused: Sequence[Refused]) -> list[dict[str, Any]]:
    """What of ``spec``'s properties the server refused, by (type, path, fault), with the
    objects concerned; a warning names each when there is any."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for entry in refused:
        if entry.ref.type in spec.types and _overlaps(entry.path, spec.paths):
            found.setdefault((entry.ref.type, entry.path, entry.fault), []).append(entry.ref.value)
    summary = [
        {"type": kind, "path": path, "fault": fault, "objects": len(morefs), "morefs": sorted(morefs)}
        for (kind, path, fault), morefs in sorted(found.items())
    ]
    for item in summary:
        warnings.warn(
            IncompleteDataWarning(
                f"table {spec.name}: the server refused {item['path']} of {item['objects']} {item['type']} "
                f"object(s) ({item['fault']}); the columns it fills are empty for them because the server would not show it, not because it is unset "
                f"(df.attrs['missing'] lists them; a role with the privilege to read it sees them)"
            ),
            stacklevel=4,
        )
    return summary
