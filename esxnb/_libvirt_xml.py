"""What libvirt's XML writers and readers share: escaping as virBufferEscapeString does, the
safe parser, and sizes with units as virScaleInteger reads them."""

from __future__ import annotations

import re
import uuid as _uuid
from hashlib import md5

from lxml import etree

from . import errors
from .vmx._safexml import parse_xml
from .vmx._to_native_values import _unit_scale

__all__ = ["esc", "parse_root", "parse_size", "md5_uuid", "reformat_uuid", "child_text"]

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&apos;", '"': "&quot;"})
_SIZE = re.compile(r"\s*(\d+)\s*([A-Za-z]*)\s*")


def esc(text: object) -> str:
    """``text`` escaped for element content and single-quoted attributes."""
    return str(text).translate(_ESCAPES)


def parse_root(text: str | bytes, root: str, what: str) -> etree._Element:
    """The root element of untrusted XML, which must be ``<root>`` (``what`` names it in errors)."""
    try:
        element = parse_xml(text)
    except errors.XMLSyntaxError as exc:
        raise errors.XMLSyntaxError(str(exc).replace("domain XML", f"{what} XML"), line=exc.line) from None
    if element.tag != root:
        raise errors.XMLSyntaxError(f"{what} XML must have a <{root}> root element, found <{element.tag}>")
    return element


def child_text(element: etree._Element, path: str) -> str | None:
    """The stripped text of the first element at ``path`` (None when absent or empty)."""
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def parse_size(text: str, unit: str | None, what: str, *, default_unit: str = "bytes") -> int:
    """A size in bytes from a number and a unit (``10`` + ``G``, or ``"10G"``), as virsh reads it."""
    m = _SIZE.fullmatch(text or "")
    if m is None:
        raise errors.ValidationError(
            f"{what} must be a whole number with an optional unit (e.g. 10G), not {text!r}"
        )
    suffix = m.group(2) or unit or default_unit
    try:
        return int(m.group(1)) * _unit_scale(suffix, what)
    except errors.ConversionError as exc:
        raise errors.ValidationError(str(exc)) from None


def md5_uuid(text: str) -> str:
    """The UUID libvirt derives from a key by MD5 (datastore mount paths, vSwitch keys)."""
    return str(_uuid.UUID(bytes=md5(text.encode("utf-8")).digest()))


def reformat_uuid(text: str) -> str:
    """A UUID in any of VMware's spellings ("60 00 C2 9b ...-5a 8f ...") as libvirt prints it."""
    digits = re.sub(r"[\s-]", "", text or "")
    try:
        return str(_uuid.UUID(hex=digits))
    except ValueError:
        raise errors.ServerFault(f"the server returned a malformed disk UUID {text!r}") from None
