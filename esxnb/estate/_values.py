"""Reading the bulk decoder's values (dicts, lists, strings: see :mod:`esxnb._decode`) into the
plain numbers, flags and texts the estate tables hold."""

from __future__ import annotations

from typing import Any

from .._tables import as_int, as_time

when = as_time

__all__ = ["get", "items", "flag", "number", "mib", "when", "typename", "mac_range", "VMWARE_MAC_RANGES"]

_MIB = 1024 * 1024


def get(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...`` for decoded data objects (None as soon as one is missing)."""
    for name in path:
        if obj.__class__ is dict:  # the decoder's data objects: the hot case first
            obj = obj.get(name)
        elif obj is None:
            return None
        else:
            obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def items(value: Any) -> list[Any]:
    """An array's elements (the decoder cannot tell a one-element array from one value)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def flag(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    return True if text in ("true", "1") else False if text in ("false", "0") else None


def number(value: Any) -> int | None:
    return as_int(value)


def mib(value: Any, unit: int = 1) -> float | None:
    """A size in ``unit`` bytes (1: bytes, 1024: KiB) as MiB, rounded to 0.1."""
    n = as_int(value)
    return None if n is None else round(n * unit / _MIB, 1)


def typename(obj: Any) -> str | None:
    """The data object's vSphere type (``VirtualDisk``, ``VirtualVmxnet3``...)."""
    if obj.__class__ is dict:  # the decoder's data objects: the hot case first
        return obj.get("_type")
    return obj.get("_type") if isinstance(obj, dict) else type(obj).__name__ if obj is not None else None


#: The spec's MAC ranges: ESX generates in 00:0c:29, vCenter in 00:50:56:80-bf; static addresses
#: belong in 00:50:56:00-3f (anything else needs ``checkMACAddress = "false"``).
VMWARE_MAC_RANGES = {"generated": "00:0c:29", "vcenter": "00:50:56:80-bf", "static": "00:50:56:00-3f"}


def mac_range(mac: Any) -> str | None:
    """Which of the spec's ranges ``mac`` is in: generated, vcenter, static, other-vmware or
    outside (None for no address)."""
    if not isinstance(mac, str) or len(mac) != 17:
        return None
    mac = mac.lower()
    if mac.startswith("00:0c:29:"):
        return "generated"
    if mac.startswith("00:50:56:"):
        third = int(mac[9:11], 16)
        return "static" if third <= 0x3F else "vcenter" if 0x80 <= third <= 0xBF else "other-vmware"
    return "outside"
