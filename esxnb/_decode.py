"""Plain Python values from the elements of a SOAP answer, without pyVmomi's object decoder:
``str``, ``int``, ``bool``, ``float``, :class:`~esxnb._fastpc.Ref` for managed object
references, lists and dicts for arrays and data objects. Strict where the data could otherwise
be silently wrong: XSD booleans only, numbers that parse, bounded text."""

from __future__ import annotations

from typing import Any

from lxml import etree

from . import errors
from ._refs import Ref

__all__ = ["decode", "leaf_reader", "fault_type", "local_name", "tag_name", "MAX_VALUE_TEXT", "XSI_TYPE"]

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_XSI_TYPE = XSI_TYPE
_VIM = "{urn:vim25}"
#: The longest text one property value may have. libxml2 alone stops at 10,000,000 bytes
#: (a real server can send more, e.g. a long annotation or extraConfig blob); the parser is
#: opened up (huge_tree, which also allows nesting to 2,048 levels: deep snapshot trees) and
#: this bound keeps a hostile answer from growing one value without end.
MAX_VALUE_TEXT = 10 * 1024 * 1024


def _boolean(text: str) -> bool:
    word = text.strip()
    if word in ("true", "1"):
        return True
    if word in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not an xsd:boolean (true, false, 1 or 0)")


def _text(element: Any) -> str:
    """A leaf's text, comments and processing instructions left out, within MAX_VALUE_TEXT."""
    text = element.text or "" if not len(element) else "".join(element.itertext())
    if len(text) > MAX_VALUE_TEXT:
        raise ValueError(f"a text of {len(text)} characters, over esxnb's bound of {MAX_VALUE_TEXT}")
    return text


def _has_elements(element: Any) -> bool:
    return bool(len(element)) and any(isinstance(child.tag, str) for child in element)


_SCALARS = {
    "string": str,
    "int": int,
    "long": int,
    "short": int,
    "byte": int,
    "boolean": _boolean,
    "double": float,
    "float": float,
}


def local_name(name: str | None) -> str | None:
    if name is None:
        return None
    return name[name.find(":") + 1 :]


def tag_name(element: Any) -> str:
    tag = element.tag
    return tag[tag.find("}") + 1 :] if tag[0] == "{" else tag


def decode(element: Any) -> Any:
    """One ``val`` (or nested) element as a plain Python value."""
    kind = local_name(element.get(_XSI_TYPE))
    if not _has_elements(element):
        for child in element:
            _refuse_entity(child)
        text = _text(element)
        if kind is None:
            if element.get("type") is not None:
                return Ref(element.get("type"), text)
            return text
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            return scalar(text)
        if kind == "ManagedObjectReference":
            return Ref(element.get("type"), text)
        if kind.startswith("ArrayOf"):
            return []
        return text  # enumerations, dateTime, base64...
    if kind is not None and kind.startswith("ArrayOf"):
        return [decode(child) for child in element if isinstance(child.tag, str) or _refuse_entity(child)]
    found: dict[str, Any] = {}
    repeated: set[str] = set()
    for child in element:
        if not isinstance(child.tag, str):
            _refuse_entity(child)
            continue  # comments, processing instructions
        name = tag_name(child)
        value = decode(child)
        if name not in found:
            found[name] = value
        elif name in repeated:  # a repeated element is an inline array
            found[name].append(value)
        else:
            found[name] = [found[name], value]
            repeated.add(name)
    if kind is not None:
        found.setdefault("_type", kind)
    return found


def _refuse_entity(node: Any) -> bool:
    """Entity references only exist with a DTD, which SOAP forbids: such an answer is refused."""
    if isinstance(node, etree._Entity):
        raise errors.ServerFault(
            f"the server's answer uses the XML entity {node.text}; SOAP answers may not have a DTD"
        )
    return False


def _leaf_reader(kind: str | None) -> Any:
    """How to read a childless element of this ``xsi:type`` (the same rules as :func:`decode`)."""
    local = local_name(kind)
    scalar = _SCALARS.get(local) if local is not None else None
    if local == "string":
        return _text
    if scalar is not None:
        return lambda element: scalar(_text(element))
    if local is None or local == "ManagedObjectReference":
        return (
            lambda element: Ref(element.get("type"), _text(element))
            if element.get("type") is not None
            else _text(element)
        )
    if local.startswith("ArrayOf"):
        return lambda element: []
    return _text


# xsi:type text (prefix included, as the server wrote it) -> leaf reader; shared, only grows.
_LEAF_READERS: dict[str | None, Any] = {}


def _fault_type(missing: Any) -> str | None:
    """The fault type of a ``missingSet`` entry (``<fault><fault xsi:type=...>``)."""
    for outer in missing.iterchildren(_VIM + "fault"):
        for inner in outer.iterchildren(_VIM + "fault"):
            return local_name(inner.get(_XSI_TYPE))
        return local_name(outer.get(_XSI_TYPE))
    return None


def leaf_reader(kind: str | None) -> Any:
    """The reader of childless elements of this ``xsi:type`` text, cached (only grows)."""
    reader = _LEAF_READERS.get(kind)
    if reader is None:
        reader = _LEAF_READERS[kind] = _leaf_reader(kind)
    return reader


def fault_type(missing: Any) -> str | None:
    return _fault_type(missing)
