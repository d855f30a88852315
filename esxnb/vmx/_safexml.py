"""Parse untrusted domain XML with lxml, safely.

No entity expansion, no DTD loading, no network, libxml2's normal size limits
(``huge_tree=False``) and a bound on the input size; any document carrying a
DOCTYPE (and so any ENTITY declaration) is refused outright. Every failure is an
:class:`esxnb.errors.XMLSyntaxError` naming the line when there is one.
"""

from __future__ import annotations

import codecs
import re
import threading

from lxml import etree

from ..errors import XMLSyntaxError

__all__ = ["MAX_XML_SIZE", "parse_xml"]

MAX_XML_SIZE = 10 * 1024 * 1024

# Fast refusal before libxml2 sees the text; the parsed tree is checked as well
# because a document in UTF-16 or UTF-32 hides these bytes from a plain search.
_DTD_MARKUP = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_DTD_MARKUP_STR = re.compile(r"<!(?:DOCTYPE|ENTITY)")

_local = threading.local()  # lxml parsers must not be shared between threads


def _parser(override_utf8: bool) -> etree.XMLParser:
    name = "utf8" if override_utf8 else "native"
    parser = getattr(_local, name, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
            encoding="utf-8" if override_utf8 else None,
        )
        setattr(_local, name, parser)
    return parser


def _refuse_dtd(line: int | None = None) -> XMLSyntaxError:
    return XMLSyntaxError(
        "domain XML must not contain a DOCTYPE or ENTITY declaration (refused for safety)", line=line
    )


def _line_of(data: bytes | str, pos: int) -> int:
    newline = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(newline, 0, pos) + 1  # type: ignore[arg-type]


_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_POSITION = re.compile(r",? *line \d+, column (\d+)$")


def _syntax_error(exc: etree.XMLSyntaxError) -> XMLSyntaxError:
    message = str(exc.msg or exc).strip()
    # libxml2 ends its message with "line N, column M"; the line is reported separately
    position = _POSITION.search(message)
    if position:
        message = f"{message[: position.start()]} (column {position.group(1)})"
    line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
    return XMLSyntaxError(f"malformed domain XML: {message or 'syntax error'}", line=line)


def _decode_with_python(data: bytes, exc: etree.XMLSyntaxError) -> str | None:
    """Decode bytes whose declared encoding libxml2 lacks (e.g. 'latin-1') with Python's codecs."""
    if "encoding" not in str(exc.msg or ""):
        return None
    declared = _DECLARED_ENCODING.match(data)
    if declared is None:
        return None
    name = declared.group(1).decode("ascii")
    try:
        return data.decode(name)
    except LookupError:
        raise XMLSyntaxError(f"the XML declaration names an unknown encoding {name!r}", line=1) from None
    except UnicodeDecodeError as err:
        raise XMLSyntaxError(
            f"byte 0x{data[err.start]:02x} is not valid {name}", line=_line_of(data, err.start)
        ) from None


_WIDE_SIGNATURES = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)


def _wide_encoding(data: bytes) -> str | None:
    """The codec of a UTF-16/UTF-32 document (by its BOM or its first '<'), None for others."""
    for signature, codec in _WIDE_SIGNATURES:
        if data.startswith(signature):
            return codec
    return None


def parse_xml(text: str | bytes) -> etree._Element:
    """The root element of ``text`` (str, or bytes in the encoding the XML declares)."""
    if isinstance(text, str):
        if len(text) > MAX_XML_SIZE:
            raise XMLSyntaxError(
                f"domain XML is {len(text)} characters, more than the {MAX_XML_SIZE} allowed"
            )
        found = _DTD_MARKUP_STR.search(text) if "<!" in text else None
        if found:
            raise _refuse_dtd(_line_of(text, found.start()))
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise XMLSyntaxError(
                f"domain XML holds a character that cannot be encoded (U+{ord(text[exc.start]):04X})",
                line=_line_of(text, exc.start),
            ) from None
        parser = _parser(True)  # a str is already decoded: ignore its encoding declaration
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > MAX_XML_SIZE:
            raise XMLSyntaxError(f"domain XML is {len(data)} bytes, more than the {MAX_XML_SIZE} allowed")
        wide = _wide_encoding(data)
        if wide is not None:  # UTF-16/32 would hide markup from the byte search below
            try:
                return parse_xml(data.decode(wide))
            except UnicodeDecodeError as exc:
                raise XMLSyntaxError(f"domain XML is not valid {wide}: {exc.reason}") from None
        found = _DTD_MARKUP.search(data) if b"<!" in data else None
        if found:
            raise _refuse_dtd(_line_of(data, found.start()))
        parser = _parser(False)
    else:
        raise XMLSyntaxError(f"domain XML must be str or bytes, not {type(text).__name__}")
    if not data.strip():
        raise XMLSyntaxError("domain XML is empty")
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        decoded = _decode_with_python(data, exc) if parser is _parser(False) else None
        if decoded is None:
            raise _syntax_error(exc) from None
        return parse_xml(decoded)
    except (ValueError, LookupError, etree.LxmlError) as exc:  # e.g. an unknown declared encoding
        raise XMLSyntaxError(f"cannot read domain XML: {exc}") from None
    if root is None:
        raise XMLSyntaxError("domain XML has no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _refuse_dtd()
    return root
