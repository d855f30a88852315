"""Datastores as libvirt storage pools, as libvirt's ESX storage driver shows them.

A pool's UUID is the MD5 of the datastore's mount path on the connection's host (datastores
have none of their own); its type is ``dir`` for a local datastore, ``fs`` (format ``vmfs``)
for VMFS and ``netfs`` (format ``nfs``/``cifs``, with the NAS host and export) for NAS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from .. import errors
from .._collect import in_view, retrieve
from .._faults import translate
from .._libvirt_xml import esc, md5_uuid
from .._ancestry import datacenter_of
from .._protocol import ConnectionLike
from .._tables import Column, TableSpec, records_frame
from ..tasks import Progress
from ._volumes import Volume, create_volume, create_volume_xml, find_volume, list_volumes

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["StoragePool", "PoolInfo", "list_pools", "find_pool", "POOLS"]

_PATHS = (
    "name",
    "summary.accessible",
    "summary.capacity",
    "summary.freeSpace",
    "summary.type",
    "summary.url",
    "info",
    "host",
)

POOLS = TableSpec(
    name="pools",
    types=(),
    paths=(),
    columns=(
        Column("name", "string"),
        Column("uuid", "string"),
        Column("type", "string"),
        Column("pool_type", "string"),
        Column("state", "string"),
        Column("capacity", "Int64"),
        Column("allocation", "Int64"),
        Column("available", "Int64"),
        Column("accessible", "boolean"),
        Column("nfs_host", "string"),
        Column("nfs_path", "string"),
        Column("url", "string"),
        Column("target_path", "string"),
    ),
)


@dataclass(frozen=True)
class PoolInfo:
    """One datastore as libvirt sees it (sizes in bytes; None while inaccessible)."""

    name: str
    uuid: str | None
    type: str  # the server's summary.type: VMFS, NFS, NFS41, CIFS, vsan, OTHER, ...
    pool_type: str | None  # libvirt's: dir, fs, netfs (None: libvirt has no pool type for it)
    source_format: str | None  # vmfs, nfs, cifs
    state: str  # running | inaccessible
    capacity: int | None
    allocation: int | None
    available: int | None
    accessible: bool
    nfs_host: str | None
    nfs_path: str | None
    url: str | None
    target_path: str | None

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in POOLS.column_names}


def _pool_type(info: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(libvirt pool type, source format, NAS host, NAS path) for a DatastoreInfo."""
    if isinstance(info, vim.host.LocalDatastoreInfo):
        return "dir", None, None, None
    if isinstance(info, vim.host.NasDatastoreInfo):
        nas = info.nas
        kind = (getattr(nas, "type", None) or "NFS").upper()
        hosts = getattr(nas, "remoteHostNames", None) or []
        host = getattr(nas, "remoteHost", None) or (hosts[0] if hosts else None)
        fmt = "cifs" if kind == "CIFS" else "nfs"  # NFS41 is NFS too
        return "netfs", fmt, host, getattr(nas, "remotePath", None)
    if isinstance(info, vim.host.VmfsDatastoreInfo):
        return "fs", "vmfs", None, None
    return None, None, None, None


def _mount_path(conn: ConnectionLike, mounts: Any) -> str | None:
    """The mount path on the connection's host (libvirt's primary host), else the first one."""
    mounts = list(mounts or [])
    host = conn.host
    for mount in mounts:
        if host is not None and mount.key == host:
            return getattr(mount.mountInfo, "path", None)
    if host is None and mounts:
        return getattr(mounts[0].mountInfo, "path", None)
    return None


def _pool_info(conn: ConnectionLike, props: dict[str, Any]) -> PoolInfo:
    accessible = bool(props.get("summary.accessible"))
    capacity = props.get("summary.capacity") if accessible else None
    available = props.get("summary.freeSpace") if accessible else None
    pool_type, fmt, nfs_host, nfs_path = _pool_type(props.get("info"))
    path = _mount_path(conn, props.get("host"))
    return PoolInfo(
        name=props["name"],
        uuid=md5_uuid(path) if path else None,
        type=props.get("summary.type") or "",
        pool_type=pool_type,
        source_format=fmt,
        state="running" if accessible else "inaccessible",
        capacity=capacity,
        allocation=capacity - available if capacity is not None and available is not None else None,
        available=available,
        accessible=accessible,
        nfs_host=nfs_host,
        nfs_path=nfs_path,
        url=props.get("summary.url"),
        target_path=path,
    )


def _datastores(conn: ConnectionLike) -> list[Any]:
    """The datastores the connection sees: its host's, cluster's, datacenter's, or all."""
    scope = conn.host or conn.compute_resource or conn.datacenter
    if scope is not None:
        found = retrieve(conn.content, [scope], ["datastore"]).get(scope, {})
        return list(found.get("datastore") or [])
    return list(
        in_view(conn.content, conn.content.rootFolder, vim.Datastore, ["name"], context="listing datastores")
    )


def _retrieve(conn: ConnectionLike, datastores: list[Any]) -> dict[Any, dict[str, Any]]:
    return retrieve(conn.content, datastores, _PATHS)


def list_pools(conn: ConnectionLike) -> pd.DataFrame:
    """Every datastore in the connection's scope, one row each, sorted by name."""
    found = _retrieve(conn, _datastores(conn))
    rows = sorted((_pool_info(conn, props).row() for props in found.values()), key=lambda r: r["name"])
    return records_frame(POOLS, rows)


def find_pool(conn: ConnectionLike, name: str) -> StoragePool:
    """The pool called ``name`` (NotFoundError naming the pools there are)."""
    found = _retrieve(conn, _datastores(conn))
    for ref, props in found.items():
        if props.get("name") == name:
            return StoragePool(conn, ref, name)
    names = sorted(str(props.get("name")) for props in found.values())
    raise errors.NotFoundError(
        f"no storage pool (datastore) named {name!r}; there are: {', '.join(names) or 'none'}",
        suggestions=names,
    )


class StoragePool:
    """One datastore: ``info()``, ``xml()``, ``refresh()``, its ``volumes()``."""

    def __init__(self, conn: ConnectionLike, ref: Any, name: str) -> None:
        self.conn = conn
        self.ref = ref
        self.name = name

    def __repr__(self) -> str:
        return f"<esxnb.StoragePool {self.name!r}>"

    # -- what it is --------------------------------------------------------
    def _info(self) -> PoolInfo:
        props = _retrieve(self.conn, [self.ref]).get(self.ref)
        if not props:
            raise errors.NotFoundError(f"storage pool {self.name!r} is gone")
        return _pool_info(self.conn, props)

    def info(self) -> dict[str, Any]:
        """``virsh pool-info``: name, uuid, state, persistent, autostart, capacity, allocation,
        available (bytes), plus the datastore type, NAS source and URL."""
        info = self._info()
        return {
            "name": info.name,
            "uuid": info.uuid,
            "state": info.state,
            "persistent": True,
            "autostart": True,
            "capacity": info.capacity,
            "allocation": info.allocation,
            "available": info.available,
            "type": info.type,
            "pool_type": info.pool_type,
            "nfs_host": info.nfs_host,
            "nfs_path": info.nfs_path,
            "url": info.url,
        }

    def xml(self) -> str:
        """The pool in libvirt's ``<pool>`` format, as its ESX storage driver writes it."""
        return format_pool_xml(self._info())

    def refresh(self) -> None:
        """Have the server re-read the datastore's capacity and free space (RefreshDatastore)."""
        with translate(f"refreshing storage pool {self.name}"):
            self.ref.RefreshDatastore()
            try:
                self.ref.RefreshDatastoreStorageInfo()
            except (vim.fault.NotSupported, vmodl.fault.MethodNotFound):
                pass

    @property
    def datacenter(self) -> Any:
        return datacenter_of(self.conn, self.ref, what=f"storage pool {self.name!r}")[0]

    # -- volumes -------------------------------------------------------------
    def volumes(self) -> pd.DataFrame:
        """Its virtual disks, ISO and floppy images (name, path, key, type, format, capacity,
        allocation, adapter, owner)."""
        return list_volumes(self)

    def volume(self, name: str) -> Volume:
        """The volume ``name`` (``dir/file.vmdk``, as ``volumes()`` lists it)."""
        return find_volume(self, name)

    def create_volume(
        self,
        name: str,
        capacity_mib: int,
        *,
        allocation: str = "thin",
        adapter: str = "lsiLogic",
        progress: Progress | None = None,
        cancel_event: threading.Event | None = None,
    ) -> Volume:
        """A new virtual disk ``dir/file.vmdk`` of ``capacity_mib`` MiB; ``allocation`` is
        ``thin``, ``thick`` (lazily zeroed) or ``eagerzeroedthick``. Never overwrites."""
        return create_volume(
            self,
            name,
            capacity_mib * 1024,
            allocation=allocation,
            adapter=adapter,
            progress=progress,
            cancel_event=cancel_event,
        )

    def create_volume_xml(
        self,
        xml: str | bytes,
        *,
        progress: Progress | None = None,
        cancel_event: threading.Event | None = None,
    ) -> Volume:
        """A new virtual disk from libvirt ``<volume>`` XML (allocation 0: thin; equal to the
        capacity: thick), as ``virsh vol-create`` does on ESX."""
        return create_volume_xml(self, xml, progress=progress, cancel_event=cancel_event)


def format_pool_xml(info: PoolInfo) -> str:
    """``<pool>`` as libvirt's virStoragePoolDefFormat writes the ESX driver's definition."""
    if info.pool_type is None:
        raise errors.ValidationError(
            f"datastore {info.name!r} is of type {info.type}, which libvirt has no storage pool type for "
            "(it knows local, VMFS and NAS datastores)"
        )
    lines = [
        f"<pool type='{info.pool_type}'>",
        f"  <name>{esc(info.name)}</name>",
        f"  <uuid>{info.uuid or '00000000-0000-0000-0000-000000000000'}</uuid>",
        f"  <capacity unit='bytes'>{info.capacity or 0}</capacity>",
        f"  <allocation unit='bytes'>{info.allocation or 0}</allocation>",
        f"  <available unit='bytes'>{info.available or 0}</available>",
        "  <source>",
    ]
    if info.pool_type == "netfs":
        if info.nfs_host:
            lines.append(f"    <host name='{esc(info.nfs_host)}'/>")
        if info.nfs_path is not None:
            lines.append(f"    <dir path='{esc(info.nfs_path)}'/>")
    if info.source_format:
        lines.append(f"    <format type='{info.source_format}'/>")
    lines += [
        "  </source>",
        "  <target>",
        *([f"    <path>{esc(info.target_path)}</path>"] if info.target_path else []),
        "    <permissions>",
        "      <mode>00</mode>",
        "      <owner>0</owner>",
        "      <group>0</group>",
        "    </permissions>",
        "  </target>",
        "</pool>",
    ]
    return "\n".join(lines) + "\n"
