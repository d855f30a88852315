"""Reading vSphere ``TypeName`` values, which pyVmomi hands over as classes."""

from __future__ import annotations

from typing import Any

__all__ = ["short_type_name"]


def short_type_name(value: Any) -> str | None:
    """``"ParaVirtualSCSIController"`` for the class ``vim.vm.device.ParaVirtualSCSIController``
    (or for that name as a string); None for nothing."""
    if value is None or value == "":
        return None
    name = getattr(value, "__name__", None) or str(value)
    return name.rsplit(".", 1)[-1]
