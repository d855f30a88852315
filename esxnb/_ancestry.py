"""An object's ancestors (parent, grandparent, ... up to the root folder) in ONE retrieval:
a recursive traversal along ``parent``, instead of one round trip per level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from . import errors
from ._faults import translate

if TYPE_CHECKING:
    from ._protocol import ConnectionLike

__all__ = ["ancestors", "datacenter_of"]

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


def datacenter_of(conn: ConnectionLike, obj: Any, *, what: str = "the object") -> tuple[Any, str]:
    """The datacenter holding ``obj`` and its inventory path (folders included): the
    connection's own when it is bound to one, else from one retrieval of the ancestors."""
    if conn.datacenter is not None and conn.datacenter_path:
        return conn.datacenter, conn.datacenter_path
    chain = ancestors(conn.content, obj, context=f"finding the datacenter of {what}")
    for index, (ancestor, _name) in enumerate(chain):
        if isinstance(ancestor, vim.Datacenter):
            return ancestor, "/".join(name for _obj, name in reversed(chain[index:]))
    raise errors.NotFoundError(f"{what} is in no datacenter")
