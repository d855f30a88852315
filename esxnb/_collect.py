"""Small bulk property retrievals: one PropertyCollector round trip (plus paging)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from pyVmomi import vim, vmodl

from ._faults import translate

__all__ = ["retrieve", "children", "in_view"]

log = logging.getLogger("esxnb")

PC = vmodl.query.PropertyCollector


def retrieve(
    content: Any, objects: Iterable[Any], properties: Sequence[str], *, page_size: int = 1000
) -> dict:
    """``{obj: {path: value}}`` for the given objects (all of one or several types)."""
    objects = list(objects)
    if not objects:
        return {}
    by_type: dict[type, list[Any]] = {}
    for obj in objects:
        by_type.setdefault(type(obj), []).append(obj)
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=obj, skip=False) for obj in objects],
        propSet=[PC.PropertySpec(type=kind, pathSet=list(properties)) for kind in by_type],
    )
    return _run(content, spec, page_size)


def children(content: Any, parent: Any, properties: Sequence[str] = ("name",)) -> dict:
    """``{child: {path: value}}`` for the direct children of a Folder (its childEntity)."""
    traverse = PC.TraversalSpec(name="children", type=type(parent), path="childEntity", skip=False)
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=parent, skip=True, selectSet=[traverse])],
        propSet=[PC.PropertySpec(type=vim.ManagedEntity, pathSet=list(properties))],
    )
    return _run(content, spec, 1000)


def in_view(
    content: Any, container: Any, kind: type, properties: Sequence[str], *, context: str = ""
) -> dict:
    """``{obj: {path: value}}`` for every ``kind`` object below ``container``, through one
    container view (``context`` names the look-up in errors)."""
    context = context or "property retrieval failed"
    with translate(context):
        view = content.viewManager.CreateContainerView(container, [kind], True)
    try:
        traverse = PC.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[traverse])],
            propSet=[PC.PropertySpec(type=kind, pathSet=list(properties))],
        )
        return _run(content, spec, 1000, context)
    finally:
        try:
            view.DestroyView()
        except Exception:  # the session drops its views anyway
            log.debug("DestroyView failed", exc_info=True)


def _run(content: Any, spec: Any, page_size: int, context: str = "property retrieval failed") -> dict:
    collector = content.propertyCollector
    found: dict = {}
    with translate(context):
        result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=page_size))
        while result is not None:
            for item in result.objects:
                found[item.obj] = {prop.name: prop.val for prop in item.propSet or []}
            token = result.token
            result = collector.ContinueRetrievePropertiesEx(token) if token else None
    return found
