"""Inventory paths from one retrieval's parent map: datacenter, compute resource, cluster,
folder and pool of any object, computed once per object and cached (no round trip per level)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._fastpc import Ref, Retrieval, ref_of

__all__ = ["Structure"]


class Structure:
    """Names, parents and the paths computed from them, for one retrieval."""

    def __init__(
        self, result: Retrieval, *, datacenter: Any = None, datacenter_path: str | None = None
    ) -> None:
        self.result = result
        self.props: dict[Ref, dict[str, Any]] = result.properties()
        self._dc_paths: dict[Ref, str] = {}
        self._dc_of: dict[Ref, Ref | None] = {}
        self._cr_paths: dict[Ref, str | None] = {}
        self._folder_paths: dict[Ref, str | None] = {}
        self._pool_paths: dict[Ref, str | None] = {}
        self._host_places: dict[Ref, tuple[str | None, str | None, str | None, str | None]] = {}
        if datacenter is not None and datacenter_path:
            self._dc_paths[ref_of(datacenter)] = datacenter_path

    def add(self, more: Retrieval) -> None:
        self.props.update(more.properties())
        self.result.missing_objects |= more.missing_objects

    def name(self, ref: Ref | None) -> str | None:
        if ref is None:
            return None
        value = self.props.get(ref, {}).get("name")
        return value if isinstance(value, str) else None

    def parent(self, ref: Ref | None) -> Ref | None:
        if ref is None:
            return None
        value = self.props.get(ref, {}).get("parent")
        return value if isinstance(value, Ref) else None

    def datacenter_of(self, ref: Ref | None) -> Ref | None:
        if ref is None:
            return None
        if ref in self._dc_of:
            return self._dc_of[ref]
        walked: list[Ref] = []
        found = None
        current: Ref | None = ref
        while current is not None and len(walked) < 1000:
            if current.type == "Datacenter":
                found = current
                break
            if current in self._dc_of:
                found = self._dc_of[current]
                break
            walked.append(current)
            current = self.parent(current)
        for item in walked:
            self._dc_of[item] = found
        return found

    def datacenter_path(self, dc: Ref | None) -> str | None:
        """``folder/.../datacenter`` as in a vpx:// URI."""
        if dc is None:
            return None
        path = self._dc_paths.get(dc)
        if path is None:
            names = [self.name(dc) or dc.value]
            current = self.parent(dc)
            # Folders above the datacenter are in the map only up to the root folder (the
            # root is the view's container, so it is never in the view itself).
            while current is not None and current in self.props and self.parent(current) is not None:
                names.append(self.name(current) or current.value)
                current = self.parent(current)
            path = "/".join(reversed(names))
            self._dc_paths[dc] = path
        return path

    def _below_datacenter(self, ref: Ref, cache: dict[Ref, str | None]) -> str | None:
        """Names from the datacenter's top folder (vm/host folder, excluded) down to ``ref``."""
        if ref in cache:
            return cache[ref]
        names: list[str] = []
        visible = True
        current: Ref | None = ref
        while current is not None:
            parent = self.parent(current)
            if parent is None or current not in self.props:
                visible = False  # not under a datacenter we can see
                break
            if parent.type == "Datacenter":
                break  # current is the datacenter's vmFolder/hostFolder
            names.append(self.name(current) or current.value)
            current = parent
        path = "/".join(reversed(names)) if visible else None
        cache[ref] = path
        return path

    def compute_resource_path(self, cr: Ref | None) -> str | None:
        if cr is None:
            return None
        return self._below_datacenter(cr, self._cr_paths)

    def folder_path(self, folder: Ref | None) -> str | None:
        """A VM folder as ``/`` (the datacenter's VM folder) or ``/a/b``."""
        if folder is None or folder.type != "Folder":
            return None
        below = self._below_datacenter(folder, self._folder_paths)
        if below is None:
            return None
        return "/" + below if below else "/"

    def pool_path(self, pool: Ref | None) -> str | None:
        """A resource pool as ``Resources/child`` (from the compute resource's root pool)."""
        if pool is None:
            return None
        if pool in self._pool_paths:
            return self._pool_paths[pool]
        names = []
        current: Ref | None = pool
        while (
            current is not None and current.type in ("ResourcePool", "VirtualApp") and current in self.props
        ):
            names.append(self.name(current) or current.value)
            current = self.parent(current)
        path = "/".join(reversed(names)) or None
        self._pool_paths[pool] = path
        return path

    def host_place(self, host: Ref | None) -> tuple[str | None, str | None, str | None, str | None]:
        """``(host name, compute resource path, cluster path or None, datacenter path)``."""
        if host is None:
            return None, None, None, None
        place = self._host_places.get(host)
        if place is None:
            cr = self.parent(host)
            cr_path = self.compute_resource_path(cr)
            cluster = cr_path if cr is not None and cr.type == "ClusterComputeResource" else None
            place = self._host_places[host] = (
                self.name(host),
                cr_path,
                cluster,
                self.datacenter_path(self.datacenter_of(host)),
            )
        return place

    def within(self, ref: Ref, scope: Ref) -> bool:
        """Whether ``ref`` lies below ``scope`` (the root folder holds everything)."""
        current: Ref | None = ref
        for _ in range(1000):
            if current is None:
                return scope.type == "Folder"
            if current == scope:
                return True
            current = self.parent(current)
        return False

    def host_autostart_managers(self) -> dict[Ref, Ref | None]:
        table = self.result.table("HostSystem")
        return {
            ref: value if isinstance(value, Ref) else None
            for ref, value in zip(table.refs, table.column("configManager.autoStartManager"))
        }

    def autostart(self) -> Callable[[Ref, Ref | None], bool | None]:
        """``f(vm, host)``: libvirt's autostart rule, None where the host's setting is unknown."""
        per_manager: dict[Ref, tuple[bool, dict[str, str]]] = {}
        for ref, props in self.props.items():
            if ref.type != "HostAutoStartManager" or ref in self.result.missing_objects:
                continue
            enabled = props.get("config.defaults.enabled") is True
            actions: dict[str, str] = {}
            for info in props.get("config.powerInfo") or []:
                if isinstance(info, dict) and isinstance(info.get("key"), Ref):
                    actions[info["key"].value] = str(info.get("startAction") or "")
            per_manager[ref] = (enabled, actions)
        managers = self.host_autostart_managers()

        def rule(vm: Ref, host: Ref | None) -> bool | None:
            manager = managers.get(host) if host is not None else None
            found = per_manager.get(manager) if manager is not None else None
            if found is None:
                return None
            enabled, actions = found
            return enabled and actions.get(vm.value, "").lower() == "poweron"

        return rule
