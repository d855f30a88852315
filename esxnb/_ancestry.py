"""An object's ancestors (parent, grandparent, ... up to the root folder) in ONE retrieval:
a recursive traversal along ``parent``, instead of one round trip per level."""

from __future__ import annotations

from typing import Any

from pyVmomi import vim, vmodl

from ._faults import translate

__all__ = ["ancestors"]

PC = vmodl.query.PropertyCollector


def ancestors(
    content: Any, obj: Any, *, context: str = "reading where an object is in the inventory"
) -> list[tuple[Any, str]]:
    """``[(object, name), ...]`` from ``obj`` itself up to (not including) the root folder."""
    up = PC.TraversalSpec(name="up", type=vim.ManagedEntity, path="parent", skip=False)
    up.selectSet = [PC.SelectionSpec(name="up")]
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=obj, skip=False, selectSet=[up])],
        propSet=[PC.PropertySpec(type=vim.ManagedEntity, pathSet=["name", "parent"])],
    )
    found: dict[str, tuple[Any, str, Any]] = {}
    with translate(context):
        collector = content.propertyCollector
        result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
        while result is not None:
            for item in result.objects:
                props = {p.name: p.val for p in item.propSet or []}
                found[item.obj._moId] = (item.obj, str(props.get("name")), props.get("parent"))
            result = collector.ContinueRetrievePropertiesEx(result.token) if result.token else None
    chain: list[tuple[Any, str]] = []
    current = found.get(obj._moId)
    root = content.rootFolder._moId
    while current is not None and current[0]._moId != root and len(chain) < 1000:
        chain.append((current[0], current[1]))
        parent = current[2]
        current = found.get(parent._moId) if parent is not None else None
    return chain
