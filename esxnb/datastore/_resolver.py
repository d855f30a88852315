"""A live host's datastores as the VMX converters see them.

:class:`OnlineDatastores` resolves file names against the host's real datastores (name,
UUID, mount path ``/vmfs/volumes/<uuid>``), so ``/vmfs/volumes/<uuid>/dir/disk.vmdk`` becomes
``[name] dir/disk.vmdk`` and back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from .. import errors
from .._collect import in_view, retrieve
from ..tasks import wait_for_task
from .._faults import translate
from .._vimtypes import short_type_name
from ..vmx._paths import UNKNOWN_VMX_DIR, VOLUMES as VMFS_VOLUMES, split_datastore_path

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["OnlineDatastores", "DatastoreInfo", "datastores_of"]

log = logging.getLogger("esxnb")

_CONTROLLER_MODELS = {
    "VirtualBusLogicController": "buslogic",
    "VirtualLsiLogicController": "lsilogic",
    "VirtualLsiLogicSASController": "lsisas1068",
    "ParaVirtualSCSIController": "vmpvscsi",
}


@dataclass(frozen=True)
class DatastoreInfo:
    """One datastore as a host sees it: ``mount_path`` is where VMX files name its files."""

    name: str
    uuid: str | None
    mount_path: str
    aliases: tuple[str, ...] = field(default=())  # other absolute paths naming its root
    obj: Any = field(default=None, compare=False, repr=False)


def _volume_id(url: str | None) -> str | None:
    """``ds:///vmfs/volumes/<id>/`` or ``/vmfs/volumes/<id>`` -> ``<id>``."""
    if not url:
        return None
    match = re.search(r"/vmfs/volumes/([^/]+)", url)
    return match.group(1) if match else None


def datastores_of(conn: ConnectionLike, objects: Iterable[Any] | None = None) -> list[DatastoreInfo]:
    """The datastores the connection's host (else its compute resource / datacenter) sees."""
    if objects is None:
        holder = conn.host or conn.compute_resource or conn.datacenter
        with translate("listing datastores"):
            if holder is not None:
                objects = (
                    retrieve(conn.content, [holder], ["datastore"]).get(holder, {}).get("datastore") or []
                )
            else:
                datacenters = in_view(conn.content, conn.content.rootFolder, vim.Datacenter, ["datastore"])
                objects = [ds for props in datacenters.values() for ds in props.get("datastore") or []]
    with translate("reading datastores"):
        props = retrieve(conn.content, list(objects), ["summary.name", "summary.url", "info.url", "host"])
    host_id = conn.host._moId if conn.host is not None else None
    found = []
    for ds, p in props.items():
        name = str(p.get("summary.name"))
        urls = [p.get("summary.url"), p.get("info.url")]
        uuid = next((v for v in map(_volume_id, urls) if v), None)
        mounts = [m for m in p.get("host") or [] if getattr(getattr(m, "mountInfo", None), "path", None)]
        mine = [m for m in mounts if host_id is not None and m.key._moId == host_id] or mounts
        mount = mine[0].mountInfo.path.rstrip("/") if mine else ""
        if not mount:
            mount = VMFS_VOLUMES + (uuid or name)
        aliases = {VMFS_VOLUMES + name, VMFS_VOLUMES + uuid if uuid else ""}
        for url in urls:
            if url and url.startswith("/"):
                aliases.add(url.rstrip("/"))
        aliases.discard("")
        aliases.discard(mount)
        found.append(DatastoreInfo(name, uuid if uuid != name else None, mount, tuple(sorted(aliases)), ds))
    return sorted(found, key=lambda d: d.name)


class OnlineDatastores:
    """A :class:`~esxnb.vmx.DatastoreResolver` for the datastores a live host sees."""

    def __init__(self, datastores: Iterable[DatastoreInfo], *, conn: ConnectionLike = None) -> None:
        self.datastores = list(datastores)
        self._conn = conn  # for reading disks' controller models; None offline
        self._by_name = {d.name: d for d in self.datastores}
        # Longest first, so /vmfs/volumes/ab never wins over /vmfs/volumes/abc.
        self._roots = sorted(
            ((root, d) for d in self.datastores for root in (d.mount_path, *d.aliases)),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    def __repr__(self) -> str:
        return f"OnlineDatastores({[d.name for d in self.datastores]!r})"

    def _known(self) -> str:
        return ", ".join(sorted(self._by_name)) or "none"

    def to_datastore_path(self, file_name: str, *, vmx_dir: str | None, allow_missing: bool) -> str | None:
        if "/" not in file_name and "\\" not in file_name:
            return f"{UNKNOWN_VMX_DIR if vmx_dir is None else vmx_dir}/{file_name}"
        for root, datastore in self._roots:
            if file_name == root or file_name.startswith(root + "/") or file_name.startswith(root + "\\"):
                rest = file_name[len(root) :].lstrip("/\\").replace("\\", "/")
                return f"[{datastore.name}] {rest}"
        if file_name.startswith(VMFS_VOLUMES):
            rest = file_name[len(VMFS_VOLUMES) :]
            volume, _, path = rest.partition("/")
            if not volume or not path:
                raise errors.ConversionError(
                    f"file name {file_name!r} does not have the expected format '/vmfs/volumes/<datastore>/<path>'"
                )
            if allow_missing:
                return None
            raise errors.ConversionError(
                f"file name {file_name!r} refers to datastore {volume!r}, which the host does not have "
                f"(its datastores: {self._known()})"
            )
        if file_name.startswith("/"):
            return file_name
        raise errors.ConversionError(
            f"cannot handle file name {file_name!r}: expecting a bare file name, /vmfs/volumes/<datastore>/<path> "
            "or another absolute path"
        )

    def to_vmx_path(self, datastore_path: str) -> str:
        if datastore_path.startswith("["):
            name, path = split_datastore_path(datastore_path)
            datastore = self._by_name.get(name)
            if datastore is None:
                raise errors.ConversionError(
                    f"datastore {name!r} of {datastore_path!r} does not exist on the host (its datastores: {self._known()})"
                )
            separator = "\\" if "\\" in datastore.mount_path else "/"
            return datastore.mount_path.rstrip(separator) + separator + path.replace("/", separator)
        if datastore_path.startswith("/"):
            return datastore_path
        raise errors.ConversionError(
            f"cannot handle file name {datastore_path!r}: use '[<datastore>] <path>' or an absolute path"
        )

    def autodetect_scsi_model(self, datastore_path: str) -> str | None:
        """The SCSI controller model recorded in a ``.vmdk`` (None when the server does not say)."""
        if self._conn is None:
            return None
        name, path = split_datastore_path(datastore_path)
        datastore = self._by_name.get(name)
        if datastore is None or datastore.obj is None:
            return None
        directory, _, file_name = path.rpartition("/")
        spec = vim.host.DatastoreBrowser.SearchSpec(
            query=[
                vim.host.DatastoreBrowser.VmDiskQuery(
                    details=vim.host.DatastoreBrowser.VmDiskQuery.Details(
                        diskType=True, capacityKb=True, hardwareVersion=True, controllerType=True
                    )
                )
            ],
            matchPattern=[file_name],
        )
        with translate(f"looking at {datastore_path}"):
            browser = retrieve(self._conn.content, [datastore.obj], ["browser"])[datastore.obj]["browser"]
            task = browser.SearchDatastore_Task(datastorePath=f"[{name}] {directory}", searchSpec=spec)
        try:
            result = wait_for_task(self._conn, task, timeout=60, description=f"looking at {datastore_path}")
        except (errors.NotFoundError, errors.TaskError):
            return None
        for info in getattr(result, "file", None) or []:
            controller = short_type_name(getattr(info, "controllerType", None))  # pyVmomi: a class
            if controller:
                model = _CONTROLLER_MODELS.get(controller)
                if model is None:
                    raise errors.ConversionError(
                        f"{datastore_path} has an unexpected controller type {controller!r}"
                    )
                return model
        return None
