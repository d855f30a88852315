"""One PropertyCollector retrieval for any set of tables.

The property paths of every table asked for are merged per managed-object type into one
RetrievePropertiesEx (paged with ContinueRetrievePropertiesEx) over the connection's
container views: the VMs in scope, the inventory structure (folders, datacenters, compute
resources, hosts, pools: the parent map that paths are computed from) and one view per
further type. Answers are decoded straight into rows by :mod:`esxnb._fastpc`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import GetWsdlType

from .._fastpc import FastCollector, Ref, Retrieval, StaleSessionError, ref_of
from .._faults import translate
from ._structure import Structure
from ._spec import Row, TableSpec

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["Reading", "read"]

PC = vmodl.query.PropertyCollector

_BASIC = ("name", "parent")
# The types of the structure view. ComputeResource/ResourcePool already cover their
# subtypes; the subtypes are named too for servers that match view types exactly.
_STRUCTURE = (
    "Folder",
    "Datacenter",
    "ComputeResource",
    "ClusterComputeResource",
    "HostSystem",
    "ResourcePool",
    "VirtualApp",
)
# The property specs of the structure filter (subtypes inherit their parent's spec).
_STRUCTURE_SPECS = ("Folder", "Datacenter", "ComputeResource", "ResourcePool", "HostSystem")
_HOST_EXTRA = ("configManager.autoStartManager",)
# Service managers are read through the ServiceContent's reference (no container view holds
# them): a table of one of these types, or a need for one, adds an object spec on it.
_SINGLETONS = {"CustomFieldsManager": "customFieldsManager", "LicenseManager": "licenseManager"}
_NEEDS = {"custom_fields": ("CustomFieldsManager", ("field",))}
_AUTOSTART_PATHS = ("config.defaults.enabled", "config.powerInfo")


#: Objects per RetrievePropertiesEx page (the server may send fewer; a token fetches the rest).
#: Pages are asked for ahead (see :mod:`esxnb._fastpc`), so the server builds the next page
#: while this one is decoded: small enough that the first arrives early, large enough that
#: round trips stay few. On the 10,000-VM demo estate 1,000 read in 11 s where 10,000 took 15 s.
PAGE_SIZE = 1_000


def _vim_type(name: str) -> Any:
    return GetWsdlType("urn:vim25", name)


def _view_traversal() -> Any:
    return PC.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)


def _over_view(view: Any, specs: list[Any]) -> Any:
    return PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=view, skip=True, selectSet=[_view_traversal()])], propSet=specs
    )


def object_rows(
    spec: TableSpec, refs: Sequence[Ref], props: Sequence[dict[str, Any]], structure: Any, extra: Any
) -> list[Row]:
    """The rows of ``spec`` for these objects (``props`` aligned with ``refs``), expanded and
    filtered."""
    rows: list[Row] = []
    for ref, values in zip(refs, props):
        row = Row(ref, values, structure, extra)
        if spec.expand is None:
            if spec.keep is None or spec.keep(row):
                rows.append(row)
            continue
        for item in spec.expand(row):
            expanded = Row(ref, values, structure, extra, item)
            if spec.keep is None or spec.keep(expanded):
                rows.append(expanded)
    return rows


class Reading:
    """What one read brought back: the structure (with every object's properties) and its cost."""

    def __init__(self, structure: Structure, round_trips: int, started: float, server: str) -> None:
        self.structure = structure
        self.round_trips = round_trips
        self.started = started
        self.server = server

    def rows(self, spec: TableSpec, extra: dict[str, Any]) -> list[Row]:
        """The rows of ``spec``, expanded and filtered."""
        table = self.structure.result.table(*spec.types)
        return object_rows(spec, table.refs, table.rows, self.structure, extra)

    def attrs(self) -> dict[str, Any]:
        return {
            "round_trips": self.round_trips,
            "seconds": round(time.perf_counter() - self.started, 4),
            "server": self.server,
        }


class _Reader:
    def __init__(self, conn: ConnectionLike, vms: Sequence[Any] | None = None) -> None:
        self.conn = conn
        self.vms = vms  # read only these VMs (pyVmomi objects), not the VMs in scope
        self.views = conn.views
        self.collector = FastCollector(conn.session)
        self.round_trips = 0

    # -- views ------------------------------------------------------------------------
    def _structure_root(self) -> Any:
        return self.conn.datacenter if self.conn.datacenter is not None else self.conn.content.rootFolder

    def _view(self, attr_or_type: str, container: Any, types: Sequence[str]) -> Any:
        views = self.views
        current = (
            views.others.get(attr_or_type)
            if attr_or_type not in ("vms", "structure")
            else getattr(views, attr_or_type)
        )
        if current is not None:
            return current
        with translate("cannot create an inventory view"):
            view = self.conn.content.viewManager.CreateContainerView(
                container, [_vim_type(t) for t in types], True
            )
        self.round_trips += 1
        if attr_or_type in ("vms", "structure"):
            setattr(views, attr_or_type, view)
        else:
            views.others[attr_or_type] = view
        return view

    # -- filter specs ----------------------------------------------------------------
    def _filters(self, paths: dict[str, list[str]]) -> list[Any]:
        filters = []
        vm_paths = paths.pop("VirtualMachine", None)
        if vm_paths is not None:
            vm_spec = PC.PropertySpec(type=vim.VirtualMachine, pathSet=vm_paths)
            if self.vms is not None:
                objects = [PC.ObjectSpec(obj=vm, skip=False) for vm in self.vms]
                filters.append(PC.FilterSpec(objectSet=objects, propSet=[vm_spec]))
            else:
                view = self._view("vms", self.conn.scope, ("VirtualMachine",))
                filters.append(_over_view(view, [vm_spec]))
        structure_specs = []
        for kind in _STRUCTURE_SPECS:
            wanted = [*_BASIC, *(_HOST_EXTRA if kind == "HostSystem" else ()), *paths.pop(kind, [])]
            structure_specs.append(PC.PropertySpec(type=_vim_type(kind), pathSet=list(dict.fromkeys(wanted))))
        for kind in [k for k in paths if k in _STRUCTURE]:  # subtypes with properties of their own
            wanted = [*_BASIC, *paths.pop(kind)]
            structure_specs.append(PC.PropertySpec(type=_vim_type(kind), pathSet=list(dict.fromkeys(wanted))))
        structure = _over_view(self._view("structure", self._structure_root(), _STRUCTURE), structure_specs)
        if self.conn.datacenter is not None:  # a view never holds its own container
            structure.objectSet.append(PC.ObjectSpec(obj=self.conn.datacenter, skip=False))
        filters.append(structure)
        for kind, wanted in sorted(paths.items()):
            view = self._view(kind, self._structure_root(), (kind,))
            filters.append(_over_view(view, [PC.PropertySpec(type=_vim_type(kind), pathSet=wanted)]))
        return filters

    def _autostart_filter(self, managers: Iterable[Ref]) -> Any | None:
        stub = self.conn.session.stub
        objects = [
            PC.ObjectSpec(obj=vim.host.AutoStartManager(ref.value, stub), skip=False)
            for ref in sorted(managers)
        ]
        if not objects:
            return None
        return PC.FilterSpec(
            objectSet=objects,
            propSet=[PC.PropertySpec(type=vim.host.AutoStartManager, pathSet=list(_AUTOSTART_PATHS))],
            # Hosts without an autostart manager (or with one we may not read) are not an error.
            reportMissingObjectsInResults=True,
        )

    # -- retrievals -------------------------------------------------------------------
    def _retrieve(self, build: Callable[[], list[Any]], pages: PageSink | None = None) -> Retrieval:
        """Run the filter specs ``build()`` makes; once more with new views if the session changed."""
        with self.views.lock:
            try:
                return self._retrieve_once(build, pages)
            except StaleSessionError:
                # Views die with their session. Creating new ones through pyvmomi also
                # logs in again when the session itself has expired.
                self.views.forget()
                if pages is not None:
                    pages.reset()
            return self._retrieve_once(build, pages)

    def _retrieve_once(self, build: Callable[[], list[Any]], pages: PageSink | None) -> Retrieval:
        specs = build()
        try:
            return self.collector.retrieve(
                specs,
                page_size=PAGE_SIZE,
                context=f"cannot read the inventory of {self.conn.uri.hostname}",
                on_page=pages.page if pages is not None else None,
            )
        finally:
            self.round_trips += self.collector.round_trips
            self.collector.round_trips = 0

    def _singleton_filter(self, kind: str, paths: Sequence[str]) -> Any | None:
        """A filter on the service manager ``kind`` (None when the server has none)."""
        manager = getattr(self.conn.content, _SINGLETONS[kind], None)
        if manager is None:
            return None
        return PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=manager, skip=False)],
            propSet=[PC.PropertySpec(type=_vim_type(kind), pathSet=list(paths))],
            reportMissingObjectsInResults=True,
        )

    def specs_for(self, tables: Sequence[TableSpec], *, autostart_managers: Iterable[Ref] = ()) -> list[Any]:
        paths: dict[str, list[str]] = {}

        def want(kind: str, wanted: Iterable[str]) -> None:
            merged = paths.setdefault(kind, [])
            merged.extend(p for p in wanted if p not in merged)

        for spec in tables:
            want(spec.type, spec.paths)
            for need in spec.needs & _NEEDS.keys():
                want(*_NEEDS[need])
        singletons = {kind: paths.pop(kind) for kind in list(paths) if kind in _SINGLETONS}
        specs = self._filters(paths)
        extras = [self._autostart_filter(autostart_managers)]
        extras += [self._singleton_filter(kind, wanted) for kind, wanted in sorted(singletons.items())]
        specs.extend(extra for extra in extras if extra is not None)
        return specs

    def read(self, tables: Sequence[TableSpec], pages: PageSink | None = None) -> Reading:
        started = time.perf_counter()
        autostart = any("autostart" in spec.needs for spec in tables)
        known = set(self.views.autostart_managers) if autostart else set()
        result = self._retrieve(lambda: self.specs_for(tables, autostart_managers=known), pages)
        structure = Structure(
            result, datacenter=self.conn.datacenter, datacenter_path=self.conn.datacenter_path
        )
        if autostart:
            managers = {m for m in structure.host_autostart_managers().values() if m is not None}
            self.views.autostart_managers |= managers
            new = managers - known
            if new:
                filter_spec = self._autostart_filter(new)
                structure.add(self._retrieve(lambda: [filter_spec]))
        return Reading(structure, self.round_trips, started, str(self.conn.uri))


class PageSink(Protocol):
    """Told each page of the main retrieval as it is decoded, and to start again when the
    retrieval does (its session or paging token expired)."""

    def page(self, page: Retrieval) -> None: ...

    def reset(self) -> None: ...


def read(
    conn: ConnectionLike,
    tables: Sequence[TableSpec],
    vms: Sequence[Any] | None = None,
    *,
    pages: PageSink | None = None,
) -> Reading:
    """One retrieval for every table in ``tables`` (views created on first use); ``vms``
    limits the VirtualMachine rows to those VMs; ``pages`` sees its pages as they come."""
    return _Reader(conn, vms).read(tables, pages)


def filter_specs(conn: ConnectionLike, tables: Sequence[TableSpec]) -> list[Any]:
    """The filter specs a read of ``tables`` sends (views created as needed; the host autostart
    managers earlier reads found included), for benchmarks and live tables."""
    reader = _Reader(conn)
    with reader.views.lock:
        known = reader.views.autostart_managers if any("autostart" in t.needs for t in tables) else ()
        return reader.specs_for(tables, autostart_managers=known)


def scope_ref(conn: ConnectionLike) -> Ref:
    return ref_of(conn.scope)
