"""Reading single values out of domain XML the way libvirt's parser reads them."""

from __future__ import annotations

import re

from lxml import etree

from ..errors import ConversionError

__all__ = [
    "text_of",
    "first_children",
    "parse_uint",
    "parse_long",
    "parse_memory_kib",
    "parse_uuid",
    "format_uuid_vmx",
    "parse_mac",
    "parse_bitmap",
    "disk_name_index",
    "parse_enum",
    "parse_yes_no",
]

_UINT = re.compile(r"[ \t\n\r\f\v]*\+?([0-9]+)")
_LONG = re.compile(r"[ \t\n\r\f\v]*([+-]?[0-9]+)")
UINT_MAX = 2**32 - 1
LLONG_MAX = 2**63 - 1


def text_of(el: etree._Element) -> str:
    """The XPath string value of an element (its text and its descendants' text)."""
    if len(el):
        return "".join(el.itertext())
    return el.text or ""


def first_children(el: etree._Element) -> dict[str, etree._Element]:
    """The first child element of each tag (one pass; faster than repeated ``find``)."""
    found: dict[str, etree._Element] = {}
    for child in el:
        if child.tag not in found:
            found[child.tag] = child
    return found


def parse_uint(value: str, what: str, *, limit: int = UINT_MAX) -> int:
    """An unsigned decimal as ``strtoul`` reads it (leading blanks allowed, nothing after)."""
    m = _UINT.fullmatch(value)
    if m is None:
        raise ConversionError(f"{what} must be an unsigned integer, found {value!r}")
    number = int(m.group(1))
    if number > limit:
        raise ConversionError(f"{what} {number} is out of range (at most {limit})")
    return number


def parse_long(value: str, what: str) -> int:
    m = _LONG.fullmatch(value)
    if m is None:
        raise ConversionError(f"{what} must be an integer, found {value!r}")
    number = int(m.group(1))
    if not -LLONG_MAX - 1 <= number <= LLONG_MAX:
        raise ConversionError(f"{what} {number} is out of range")
    return number


def _unit_scale(unit: str, what: str) -> int:
    """Bytes per unit, as libvirt's virScaleInteger: b/bytes, k/KiB = 1024, KB = 1000, ... up to E."""
    lower = unit.lower()
    if lower in ("b", "byte", "bytes"):
        return 1
    if len(lower) == 1 or lower[1:] == "ib":
        base = 1024
    elif lower[1:] == "b":
        base = 1000
    else:
        base = 0
    power = "kmgtpe".find(lower[0]) + 1 if lower else 0
    if not base or not power:
        raise ConversionError(
            f"{what} has an unknown unit {unit!r} (use b, KiB, MiB, GiB, TiB, KB, MB, GB, TB...)"
        )
    return base**power


def parse_memory_kib(el: etree._Element, what: str) -> int:
    """A ``<memory unit='...'>N</memory>``-style amount in KiB (rounded up, KiB by default)."""
    text = text_of(el)
    m = _UINT.fullmatch(text)
    if m is None:
        raise ConversionError(f"<{what}> must be an unsigned integer, found {text!r}")
    unit = el.get("unit")
    scale = _unit_scale(unit, f"<{what}>") if unit else 1024
    amount = int(m.group(1)) * scale
    if amount > LLONG_MAX:
        raise ConversionError(f"<{what}> value {text.strip()}{unit or ''} is too large")
    return -(-amount // 1024)


# 32 hex digits in pairs, '-' or ' ' anywhere between the pairs, blanks around: libvirt's liberal scan
_UUID = re.compile(r"[ \t\n\r\f\v]*(?:[- ]*[0-9a-fA-F]{2}){16}[ \t\n\r\f\v]*")
_NOT_HEX = re.compile(r"[^0-9a-fA-F]+")


def parse_uuid(value: str, what: str) -> bytes:
    if _UUID.fullmatch(value) is None:
        raise ConversionError(
            f"{what} {value!r} is not a UUID (32 hex digits, e.g. 564d9bef-acd9-b4e0-c8f0-aea8b9103515)"
        )
    return bytes.fromhex(_NOT_HEX.sub("", value))


def format_uuid_vmx(uuid: bytes) -> str:
    """``56 4d 9b ef ac d9 b4 e0-c8 f0 ae a8 b9 10 35 15``: VMware's form of a UUID."""
    h = uuid.hex(" ")
    return f"{h[:23]}-{h[24:]}"


_MAC = re.compile(
    r"([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):"
    r"([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})[\x00-\x20]*"
)


def parse_mac(value: str, what: str) -> bytes:
    m = _MAC.fullmatch(value)
    if m is None:
        raise ConversionError(f"{what} {value!r} is not a MAC address (six hex bytes like 00:0c:29:11:22:33)")
    mac = bytes(int(part, 16) for part in m.groups())
    if mac[0] & 1:
        raise ConversionError(f"{what} {value!r} is a multicast address; an interface needs a unicast one")
    return mac


CPUMASK_LEN = 1024


def parse_bitmap(value: str, what: str) -> list[int]:
    """``0-2,5-7,^6`` -> sorted bit numbers (libvirt's cpuset syntax, bits below 1024)."""
    bits: set[int] = set()
    excluded: set[int] = set()
    items = value.split(",")
    for raw in items:
        item = raw.strip()
        m = re.fullmatch(r"(\^)?([0-9]+)(?:\s*-\s*([0-9]+))?", item)
        if m is None or (m.group(1) and m.group(3)):
            raise ConversionError(
                f"{what} {value!r} is not a CPU list: expected items like '3', '0-2' or '^4' separated by ','"
            )
        low = int(m.group(2))
        high = int(m.group(3)) if m.group(3) else low
        if high >= CPUMASK_LEN or low > high:
            raise ConversionError(
                f"{what} {value!r}: {item!r} is not a valid range of CPUs 0..{CPUMASK_LEN - 1}"
            )
        if m.group(1):
            excluded.add(low)
        else:
            bits.update(range(low, high + 1))
    return sorted(bits - excluded)


_DISK_PREFIXES = ("fd", "hd", "vd", "sd", "xvd", "ubd")


def disk_name_index(name: str) -> int:
    """``sda`` -> 0, ``sdz`` -> 25, ``sdaa`` -> 26 (partition digits allowed); -1 when malformed."""
    for prefix in _DISK_PREFIXES:
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            break
    else:
        return -1
    letters = len(rest) - len(rest.lstrip("abcdefghijklmnopqrstuvwxyz"))
    if letters == 0:
        return -1
    digits = rest[letters:]
    if digits and (not digits.isascii() or not digits.isdigit() or (len(digits) > 1 and digits[0] == "0")):
        return -1
    idx = 0
    for i, c in enumerate(rest[:letters]):
        idx = (idx + (1 if i else 0)) * 26 + (ord(c) - 97)
    return idx


def parse_enum(
    value: str | None, allowed: tuple[str, ...], what: str, *, default: str | None = None
) -> str | None:
    """``value`` when it is one of ``allowed``, ``default`` when absent; an error otherwise."""
    if value is None:
        return default
    if value in allowed:
        return value
    raise ConversionError(f"{what} {value!r} is not valid; expected one of: {', '.join(allowed)}")


def parse_yes_no(value: str | None, what: str) -> bool | None:
    if value is None:
        return None
    if value == "yes":
        return True
    if value == "no":
        return False
    raise ConversionError(f"{what} must be 'yes' or 'no', found {value!r}")
