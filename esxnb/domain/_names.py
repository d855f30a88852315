"""How the server spells VM names and UUIDs, and how users write them."""

from __future__ import annotations

import re
import uuid as uuid_module

__all__ = ["display_name", "inventory_name", "normalize_uuid", "domain_id"]

_ESCAPED = re.compile(r"%(25|2[fF]|5[cC])")


def display_name(server_name: str) -> str:
    """A VM name as the server stores it (``%2f`` for ``/``, ``%25``, ``%5c``) -> as a user writes it."""
    if "%" not in server_name:  # nearly every name: no escape to undo
        return server_name
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), server_name)


def inventory_name(name: str) -> str:
    """The inverse of :func:`display_name`: how the server spells a VM name."""
    return name.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


def normalize_uuid(text: str) -> str | None:
    """``text`` as a canonical lower-case UUID, or None when it is not one.

    Accepts the usual dashed form, 32 bare hex digits and VMware's ``"56 4d ... 2a-1b ..."``.
    """
    compact = re.sub(r"[\s\-{}]", "", text)
    if not re.fullmatch(r"[0-9a-fA-F]{32}", compact):
        return None
    return str(uuid_module.UUID(compact))


def domain_id(moref: str, state: str) -> int | None:
    """libvirt's domain ID: the moref's number (``vm-42`` -> 42), none while shut off."""
    if state == "shut off":
        return None
    text = moref[3:] if moref.startswith("vm-") else moref
    return int(text) if text.isdigit() and int(text) > 0 else None
