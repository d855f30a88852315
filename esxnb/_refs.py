"""Managed object references as plain values (hashable, comparable, cheap)."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Ref", "ref_of"]


class Ref(NamedTuple):
    """A managed object reference as the server spelled it, e.g. ``Ref("VirtualMachine", "vm-42")``."""

    type: str
    value: str


def ref_of(mo: Any) -> Ref:
    """The :class:`Ref` of a pyvmomi managed object."""
    return Ref(mo._wsdlName, mo._moId)
