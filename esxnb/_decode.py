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
    if not len(element):
        return _leaf_text(element)
    text = "".join(element.itertext())
    if len(text) > MAX_VALUE_TEXT:
        raise _too_long(text)
    return text


def _too_long(text: str) -> ValueError:
    return ValueError(f"a text of {len(text)} characters, over esxnb's bound of {MAX_VALUE_TEXT}")


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


# element tag -> its local name; tags repeat endlessly in an answer, so this stays small.
_TAG_NAMES: dict[str, str] = {}


def decode(element: Any) -> Any:
    """One ``val`` (or nested) element as a plain Python value.

    The hot loop of every bulk read (device lists hold thousands of nested elements per page),
    so it works in one pass per element: leaves go to a reader cached per ``xsi:type``; an
    element whose children turn out to be comments or processing instructions only is a leaf
    too (its text read around them).
    """
    if not len(element):
        return leaf_reader(element.get(_XSI_TYPE))(element)
    kind = _kind(element)
    is_array = kind is not None and kind.startswith("ArrayOf")
    items: list[Any] = []
    found: dict[str, Any] = {}
    repeated: set[str] = set()
    names = _TAG_NAMES
    for child in element:
        tag = child.tag
        if tag.__class__ is not str:
            _refuse_entity(child)
            continue  # comments, processing instructions
        if len(child):
            value = decode(child)
        elif child.items():  # typed or a reference: the reader of its attributes
            value = leaf_reader(child.get(_XSI_TYPE))(child)
        else:
            # Most leaves carry no attribute at all (their type is the schema's): a string.
            # Asking for the attribute list is far cheaper than looking up a namespaced one.
            value = child.text
            if value is None:
                value = ""
            elif len(value) > MAX_VALUE_TEXT:
                value = _leaf_text(child)  # raises with the bound in the message
        if is_array:
            items.append(value)
            continue
        name = names.get(tag)
        if name is None:
            name = names[tag] = tag[tag.find("}") + 1 :] if tag[0] == "{" else tag
        if name not in found:
            found[name] = value
        elif name in repeated:  # a repeated element is an inline array
            found[name].append(value)
        else:
            found[name] = [found[name], value]
            repeated.add(name)
    if not found and not items:  # no child was an element
        return _mixed_leaf(element, kind)
    if is_array:
        return items
    if kind is not None:
        found.setdefault("_type", kind)
    return found


# xsi:type text (prefix included) -> its local name; a few hundred types at most.
_KINDS: dict[str, str | None] = {}


def _kind(element: Any) -> str | None:
    """The local ``xsi:type`` name of an element (None when it has none)."""
    if not element.items():
        return None
    xsi = element.get(_XSI_TYPE)
    if xsi is None:
        return None
    kind = _KINDS.get(xsi)
    if kind is None:
        kind = _KINDS[xsi] = local_name(xsi)
    return kind


def _mixed_leaf(element: Any, kind: str | None) -> Any:
    """A leaf whose text is interrupted by comments or processing instructions."""
    text = _text(element)
    if kind is None:
        return Ref(element.get("type"), text) if element.get("type") is not None else text
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return scalar(text)
    if kind == "ManagedObjectReference":
        return Ref(element.get("type"), text)
    return [] if kind.startswith("ArrayOf") else text


def _refuse_entity(node: Any) -> bool:
    """Entity references only exist with a DTD, which SOAP forbids: such an answer is refused."""
    if isinstance(node, etree._Entity):
        raise errors.ServerFault(
            f"the server's answer uses the XML entity {node.text}; SOAP answers may not have a DTD"
        )
    return False


def _leaf_text(element: Any) -> str:
    """A childless element's text, within MAX_VALUE_TEXT."""
    text = element.text
    if text is None:
        return ""
    if len(text) > MAX_VALUE_TEXT:
        raise _too_long(text)
    return text


def _leaf_reader(kind: str | None) -> Any:
    """How to read a childless element of this ``xsi:type`` (the same rules as :func:`decode`)."""
    local = local_name(kind)
    scalar = _SCALARS.get(local) if local is not None else None
    if local == "string":
        return _leaf_text
    if scalar is not None:
        return lambda element: scalar(_leaf_text(element))
    if local is None or local == "ManagedObjectReference":

        def reference_or_text(element: Any) -> Any:
            kind = element.get("type")
            return _leaf_text(element) if kind is None else Ref(kind, _leaf_text(element))

        return reference_or_text
    if local.startswith("ArrayOf"):
        return lambda element: []
    return _leaf_text


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
