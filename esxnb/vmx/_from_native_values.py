"""Typed reads of VMX entries and the small formats of domain XML (VMX -> XML side)."""

from __future__ import annotations

import re

from ..errors import ConversionError
from ._vmxfile import VMXFile

__all__ = [
    "Entries",
    "xml_escape",
    "disk_name",
    "read_vmx_mac",
    "read_vmx_uuid",
    "format_uuid",
    "format_bitmap",
]

_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)\Z")
_INT64 = 1 << 63

# What libvirt's virBufferEscapeString does, plus dropping the control characters it lets
# through (0x1a-0x1f) so that the document stays well-formed.
_XML_ESCAPES = {ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;", ord('"'): "&quot;", ord("'"): "&apos;"}
_XML_ESCAPES.update({c: None for c in range(1, 32) if c not in (9, 10, 13)})
_XML_ESCAPES.update({0xFFFE: None, 0xFFFF: None})
_XML_SPECIAL = re.compile("[<>&\"'\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_escape(text: str) -> str:
    """Escape text for an attribute or element body, the way libvirt writes domain XML."""
    if _XML_SPECIAL.search(text) is None:
        return text
    return text.translate(_XML_ESCAPES)


class Entries:
    """Typed, case-insensitive look-ups in a parsed VMX with libvirt's defaults and errors."""

    __slots__ = ("vmx", "lower")

    def __init__(self, vmx: VMXFile) -> None:
        self.vmx = vmx
        self.lower = vmx.lower

    def where(self, name: str) -> str:
        line = self.vmx.line(name)
        return f"VMX entry '{name}'" + (f" (line {line})" if line is not None else "")

    def error(self, name: str, problem: str) -> ConversionError:
        return ConversionError(f"{self.where(name)}: {problem}")

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.lower.get(name.lower())
        if value is None and required:
            raise ConversionError(f"missing essential VMX entry '{name}'")
        return value

    def integer(self, name: str, default: int, *, required: bool = False) -> int:
        """An integer (``"unlimited"`` is -1), as libvirt's virVMXGetConfigLong reads it."""
        value = self.lower.get(name.lower())
        if value is None:
            if required:
                raise ConversionError(f"missing essential VMX entry '{name}'")
            return default
        if value.isdigit() and value.isascii() and len(value) < 19:
            return int(value)
        if value.lower() == "unlimited":
            return -1
        m = _INT.match(value)
        if m is None:
            raise self.error(name, f"must be an integer, found {value!r}")
        number = int(m.group(1))
        if not -_INT64 <= number < _INT64:
            raise self.error(name, f"is out of the 64-bit integer range: {value!r}")
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self.lower.get(name.lower())
        if value is None:
            return default
        low = value.lower()
        if low == "true":
            return True
        if low == "false":
            return False
        raise self.error(name, f"must be 'true' or 'false', found {value!r}")

    def present(self, prefix: str) -> bool:
        """Whether the device slot ``prefix`` (``ethernet0``, ``serial1``...) is present; its
        ``startConnected`` must be a boolean either way, as libvirt checks it."""
        present = self.boolean(prefix + ".present", False)
        self.boolean(prefix + ".startConnected", True)
        return present

    def uuid(self, name: str) -> str | None:
        value = self.string(name)
        if value is None:
            return None
        parsed = read_vmx_uuid(value)
        if parsed is None:
            raise self.error(name, f"is not a UUID: {value!r}")
        return parsed


def disk_name(prefix: str, index: int) -> str:
    """``("sd", 0)`` -> ``"sda"``, 25 -> ``"sdz"``, 26 -> ``"sdaa"`` (libvirt's virIndexToDiskName)."""
    letters = []
    while True:
        letters.append(chr(97 + index % 26))
        index = index // 26 - 1
        if index < 0:
            break
    return prefix + "".join(reversed(letters))


_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
# libvirt's virUUIDParse: 32 hex digits in pairs, '-' or ' ' anywhere between pairs,
# white space around (VMware writes "42 1a 61 77 5a a9 ab b7-59 24 fc 37 6c 18 a1 b4")
_UUID = re.compile(r"[ \t\n\v\f\r]*(?:[- ]*[0-9a-fA-F]{2}){16}[ \t\n\v\f\r]*")
_UUID_SEPARATORS = {ord(c): None for c in "- \t\n\v\f\r"}


def read_vmx_uuid(text: str) -> str | None:
    """A UUID as VMware or libvirt writes it -> canonical lower-case form, else None."""
    if _UUID.fullmatch(text) is None:
        return None
    return format_uuid(text.translate(_UUID_SEPARATORS).lower())


def format_uuid(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def read_vmx_mac(text: str) -> str | None:
    """``"0:c:29:1:2:3"`` or ``"00:0C:29:01:02:03"`` -> ``"00:0c:29:01:02:03"``, else None."""
    groups = text.split(":", 5)
    if len(groups) != 6:
        return None
    last = groups[5]
    # libvirt stops at the first character <= ' ' after the last group
    end = 0
    while end < len(last) and last[end] in _HEXDIGITS:
        end += 1
    if end < len(last) and last[end] > " ":
        return None
    groups[5] = last[:end]
    out = []
    for group in groups:
        if not 1 <= len(group) <= 2 or not _HEXDIGITS.issuperset(group):
            return None
        out.append(f"{int(group, 16):02x}")
    return ":".join(out)


def format_bitmap(bits: set[int]) -> str:
    """``{0, 1, 2, 5}`` -> ``"0-2,5"`` (libvirt's virBitmapFormat)."""
    out = []
    run_start = prev = None
    for bit in sorted(bits):
        if prev is not None and bit == prev + 1:
            prev = bit
            continue
        if run_start is not None:
            out.append(str(run_start) if run_start == prev else f"{run_start}-{prev}")
        run_start = prev = bit
    if run_start is not None:
        out.append(str(run_start) if run_start == prev else f"{run_start}-{prev}")
    return ",".join(out)
