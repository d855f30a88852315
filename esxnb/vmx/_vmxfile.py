"""Reading and writing VMware ``.vmx`` files (``key = "value"`` lines).

The grammar is the one libvirt accepts for VMX: keys start with a letter or ``.``
and continue with letters, digits, ``_ : . -``; values are always quoted (``"..."``,
``'...'`` or Python-style ``\"\"\"...\"\"\"``); ``#`` starts a comment; statements are
separated by line ends or ``;``. Keys are case-insensitive and, as in libvirt, the
first occurrence of a repeated key wins.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from functools import lru_cache

from ..errors import ConversionError, ValidationError, VMXSyntaxError

__all__ = ["VMXFile", "parse_vmx", "format_vmx", "escape_hex", "unescape_hex"]

MAX_VMX_SIZE = 10 * 1024 * 1024  # libvirt refuses bigger config files, so do we

# One statement, anchored at the current position (after blanks and line ends).
_STATEMENT = re.compile(
    r"""[ \t\r\n]*(?:
        \#[^\r\n]*
      | ([A-Za-z.][A-Za-z0-9_:.\-]*)[ \t]*=[ \t]*
        (?:\"\"\"(.*?)\"\"\"|"([^"\r\n]*)"|'([^'\r\n]*)')
        [ \t]*(?:\#[^\r\n]*)?
    )""",
    re.VERBOSE | re.DOTALL,
)
_SEPARATOR = re.compile(r"[ \t]*(?:;|(?=[\r\n])|\Z)")
_TRAILING_SPACE = re.compile(r"[ \t\r\n]*\Z")
_KEY = re.compile(r"[A-Za-z.][A-Za-z0-9_:.\-]*")


class VMXFile:
    """The entries of a VMX file in file order, with case-insensitive look-up.

    ``lower`` maps each lower-cased key to its value (the first occurrence wins, as in
    libvirt); converters read it directly. ``keys_joined`` holds every lower-cased key
    (repeats included) joined by NUL, for quick scans of key families.
    """

    __slots__ = ("_entries", "_text", "lower", "keys_joined", "encoding")

    def __init__(
        self,
        items: Iterable[tuple[str, str]] = (),
        *,
        lines: Iterable[int] | None = None,
        encoding: str | None = None,
    ) -> None:
        pairs = list(items)
        numbers = list(lines) if lines is not None else list(range(1, len(pairs) + 1))
        if len(numbers) != len(pairs):
            raise ValidationError(
                f"VMXFile: {len(numbers)} line numbers for {len(pairs)} entries (one per entry)"
            )
        self._entries: list[tuple[str, str, int]] | None = [(k, v, n) for (k, v), n in zip(pairs, numbers)]
        self._text: str | None = None
        self._index([k for k, _ in pairs], [v for _, v in pairs])
        self.encoding = encoding

    @classmethod
    def _parsed(
        cls, keys: list[str], values: list[str], entries: list[tuple[str, str, int]] | None, text: str
    ) -> VMXFile:
        self = cls.__new__(cls)
        self._entries = entries
        self._text = text
        self._index(keys, values)
        self.encoding = None
        return self

    def _index(self, keys: list[str], values: list[str]) -> None:
        joined = "\x00".join(keys).lower()
        self.keys_joined = joined
        lowered = joined.split("\x00") if keys else []
        # reversed, so that the first occurrence of a repeated key wins
        self.lower: dict[str, str] = dict(zip(lowered[::-1], values[::-1]))

    def _all(self) -> list[tuple[str, str, int]]:
        if self._entries is None:
            # the fast parser keeps neither the keys' case nor line numbers: re-read on demand
            self._entries = _parse_text(self._text or "")
        return self._entries

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.lower.get(key.lower(), default)

    def line(self, key: str) -> int | None:
        """1-based line number of ``key`` (its first occurrence), None when absent."""
        wanted = key.lower()
        if wanted not in self.lower:
            return None
        return next((n for k, _, n in self._all() if k.lower() == wanted), None)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self.lower

    def __len__(self) -> int:
        return len(self._all())

    def items(self) -> list[tuple[str, str]]:
        """Every ``(key, value)`` in file order, repeated keys included."""
        return [(k, v) for k, v, _ in self._all()]

    def entries(self) -> list[tuple[str, str, int]]:
        """Every ``(key, value, line)`` in file order."""
        return list(self._all())

    def __repr__(self) -> str:
        return f"<VMXFile {len(self.lower)} keys>"


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _explain(text: str, pos: int) -> str:
    """Why no statement starts at ``pos`` (text[pos] is not blank)."""
    key = _KEY.match(text, pos)
    if key is None:
        return f"expecting a key (a letter or '.') but found {text[pos]!r}"
    name = key.group()
    rest = pos + len(name)
    while rest < len(text) and text[rest] in " \t":
        rest += 1
    if rest >= len(text) or text[rest] != "=":
        found = "end of line" if rest >= len(text) or text[rest] in "\r\n" else repr(text[rest])
        return f"expecting '=' after key '{name}' but found {found}"
    rest += 1
    while rest < len(text) and text[rest] in " \t":
        rest += 1
    if rest >= len(text) or text[rest] in "\r\n":
        return f"key '{name}' has no value"
    quote = text[rest]
    if quote in "\"'":
        return f"unterminated string in the value of '{name}'"
    return f"the value of '{name}' must be quoted (key = \"value\")"


# Between two values (after splitting at '"'): line break(s), a lower-cased key, ' = '.
_SURROGATE = re.compile("[\ud800-\udfff]")
_KEY_PART = re.compile(r"[\r\n]+([a-z.][a-z0-9_:.\-]*) = \x00")


def _skip_leading_comments(text: str) -> int:
    """Offset after the comment lines (``#!/usr/bin/vmware``...) that open many VMX files."""
    pos = 0
    while text.startswith("#", pos):
        eol = text.find("\n", pos)
        if eol < 0 or '"' in text[pos:eol]:
            return -1
        pos = eol + 1
    return pos


def _parse_fast(text: str) -> tuple[list[str], list[str]] | None:
    """Lower-cased keys and values when the text is laid out as VMware writes it, else None.

    Splitting at ``"`` puts the values at odd positions; one regex pass over the key
    parts checks that each is exactly a line break, a key and `` = ``, and that together
    they cover everything. Anything else (inner comments, other spacing, ``;``, single
    quotes) falls back to :func:`_parse_text`.
    """
    start = _skip_leading_comments(text) if text.startswith("#") else 0
    if start < 0:
        return None
    parts = text[start:].split('"')
    if not len(parts) & 1:
        return None
    values = parts[1::2]
    keyparts = parts[0::2]
    tail = keyparts.pop()
    if tail.strip(" \t\r\n"):
        return None
    if not keyparts:
        return [], []
    joined = "\n" + "\x00".join(keyparts) + "\x00"
    if not joined.isascii():
        return None
    joined = joined.lower()
    keys = _KEY_PART.findall(joined)
    if len(keys) != len(keyparts):
        return None
    # the matches must cover everything but line breaks: nothing else between the values
    newlines = joined.count("\n") + joined.count("\r")
    if sum(map(len, keys)) + 4 * len(keys) + newlines != len(joined):
        return None
    joined_values = "".join(values)
    if "\n" in joined_values or "\r" in joined_values:
        return None
    return keys, values


def _parse_text(text: str) -> list[tuple[str, str, int]]:
    entries: list[tuple[str, str, int]] = []
    append = entries.append
    statement = _STATEMENT.match
    separator = _SEPARATOR.match
    count = text.count
    pos = 0
    end = len(text)
    line = 1
    counted = 0  # lines are counted up to this position
    while pos < end:
        m = statement(text, pos)
        if m is None:
            if _TRAILING_SPACE.match(text, pos) is not None:
                break
            bad = pos
            while text[bad] in " \t\r\n":
                bad += 1
            raise VMXSyntaxError(_explain(text, bad), line=_line_at(text, bad))
        pos = m.end()
        key = m.group(1)
        if key is None:  # a comment
            continue
        start = m.start(1)
        line += count("\n", counted, start)
        counted = start
        value = m.group(3)
        if value is None:
            value = m.group(4)
            if value is None:
                value = m.group(2)
        append((key, value, line))
        s = separator(text, pos)
        if s is None:
            raise VMXSyntaxError(
                f"unexpected {text[pos]!r} after the value of '{key}' (one key = \"value\" per line)",
                line=_line_at(text, pos),
            )
        pos = s.end()
    return entries


def _python_codec(name: str, line: int | None) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise VMXSyntaxError(f".encoding names an unknown character set {name!r}", line=line) from None


def _parse(text: str) -> VMXFile:
    nul = text.find("\0")
    if nul >= 0:
        raise VMXSyntaxError("NUL character in VMX text", line=_line_at(text, nul))
    # Text decoded from bytes never holds a lone surrogate, but a str handed in may (bytes
    # decoded with "surrogateescape"); no XML document or UTF-8 file can carry one.
    surrogate = None if text.isascii() else _SURROGATE.search(text)
    if surrogate is not None:
        raise VMXSyntaxError(
            f"U+{ord(surrogate.group()):04X} in VMX text is a lone surrogate, not a character"
            " (was the file decoded with errors='surrogateescape'? pass its bytes instead)",
            line=_line_at(text, surrogate.start()),
        )
    fast = _parse_fast(text)
    if fast is not None:
        return VMXFile._parsed(fast[0], fast[1], None, text)
    entries = _parse_text(text)
    return VMXFile._parsed([k for k, _, _ in entries], [v for _, v, _ in entries], entries, text)


def _decode_as(data: bytes, name: str, line: int | None) -> VMXFile:
    codec = _python_codec(name, line)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise VMXSyntaxError(
            f"byte 0x{data[exc.start]:02x} is not valid {name} (declared by .encoding on line {line})",
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None
    vmx = _parse(text)
    vmx.encoding = name
    return vmx


def _parse_bytes(data: bytes) -> VMXFile:
    """Decode as ``.encoding`` says (UTF-8 when absent), as libvirt does: parse, then re-read."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # latin-1 keeps every byte and the ASCII grammar: enough to find .encoding
        probe = _parse(data.decode("latin-1"))
        name = probe.lower.get(".encoding")
        line = probe.line(".encoding")
        if name is None or _python_codec(name, line) == "utf-8":
            raise VMXSyntaxError(
                f"invalid UTF-8 byte 0x{data[exc.start]:02x}; declare the file's character set "
                f'with .encoding = "..."',
                line=data.count(b"\n", 0, exc.start) + 1,
            ) from None
        return _decode_as(data, name, line)
    vmx = _parse(text)
    name = vmx.lower.get(".encoding")
    if name is None:
        return vmx
    line = vmx.line(".encoding")
    if _python_codec(name, line) == "utf-8":
        vmx.encoding = name
        return vmx
    return _decode_as(data, name, line)


def parse_vmx(text: str | bytes) -> VMXFile:
    """Parse VMX text; bytes are decoded with the file's ``.encoding`` (UTF-8 by default).

    A ``str`` is taken as already decoded. Raises :class:`VMXSyntaxError` naming the line.
    """
    if isinstance(text, str):
        if len(text) > MAX_VMX_SIZE:
            raise VMXSyntaxError(f"VMX input is {len(text)} characters, more than the {MAX_VMX_SIZE} allowed")
        vmx = _parse(text)
        vmx.encoding = vmx.lower.get(".encoding")
        return vmx
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > MAX_VMX_SIZE:
            raise VMXSyntaxError(f"VMX input is {len(data)} bytes, more than the {MAX_VMX_SIZE} allowed")
        return _parse_bytes(data)
    raise VMXSyntaxError(f"VMX input must be str or bytes, not {type(text).__name__}")


def format_vmx(entries: Iterable[tuple[str, str]]) -> str:
    """``key = "value"`` lines, one per entry, each ending with a newline."""
    out = []
    for key, value in entries:
        if '"' in value or "\n" in value or "\r" in value:
            raise ConversionError(
                f"the value of VMX key '{key}' contains a double quote or line break, "
                f"which a VMX file cannot hold: {value!r}"
            )
        out.append(f'{key} = "{value}"\n')
    return "".join(out)


@lru_cache(maxsize=16)
def _escape_table(escape: str, special: str) -> dict[int, str]:
    return {ord(c): f"{escape}{ord(c) & 0xFF:02x}" for c in escape + special}


def escape_hex(value: str, escape: str, special: str) -> str:
    """Write ``escape`` and each character of ``special`` as ``<escape>XX`` (lower-case hex).

    VMware uses ``|22`` for ``"`` in displayName/annotation and ``%2f`` in names.
    """
    if len(escape) != 1 or any(ord(c) > 0x7F for c in escape + special):
        raise ConversionError("escape_hex: the escape and special characters must be ASCII")
    return value.translate(_escape_table(escape, special))


_HEX = frozenset("0123456789abcdefABCDEF")


def unescape_hex(value: str, escape: str) -> str:
    """Undo :func:`escape_hex`: each ``<escape>XX`` becomes the byte 0xXX (bytes are UTF-8)."""
    if escape not in value:
        return value
    out = bytearray()
    i = 0
    n = len(value)
    while i < n:
        j = value.find(escape, i)
        if j < 0:
            out += value[i:].encode("utf-8", "surrogatepass")
            break
        out += value[i:j].encode("utf-8", "surrogatepass")
        hexpart = value[j + 1 : j + 3]
        if len(hexpart) != 2 or not _HEX.issuperset(hexpart):
            raise VMXSyntaxError(
                f"bad escape {value[j : j + 3]!r} at offset {j} in {value!r}: "
                f"'{escape}' must be followed by two hex digits"
            )
        out.append(int(hexpart, 16))
        i = j + 3
    # |00 ends the value, as it ends the C string libvirt reads it into: a NUL never reaches
    # the domain XML (no XML parser would take it)
    end = out.find(0)
    if end >= 0:
        del out[end:]
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise VMXSyntaxError(f"escaped bytes in {value!r} are not valid UTF-8") from None
