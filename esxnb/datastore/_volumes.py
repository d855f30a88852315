"""The volumes of a storage pool: virtual disks, ISO and floppy images on a datastore.

Found as libvirt finds them, with one ``SearchDatastoreSubFolders`` over the datastore (a
``*`` pattern: some servers match nothing with none); a disk's key is its UUID
(``QueryVirtualDiskUuid``, printed as libvirt prints UUIDs), other files' key is their path.
Disks are created, copied, wiped and deleted through the VirtualDiskManager; a disk a VM uses
is never deleted or wiped, and an existing name is never overwritten.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from .. import errors
from .._collect import retrieve
from .._faults import translate
from .._libvirt_xml import reformat_uuid
from .._tables import records_frame
from .._vimtypes import short_type_name
from ._files import delete as delete_file
from ._files import escape_datastore_item
from ._volume_info import VOLUMES, PoolLike, VolumeInfo, format_volume_xml, parse_volume_xml
from ..tasks import Progress, raise_if_cancelled, wait_for_task

if TYPE_CHECKING:
    import pandas as pd


__all__ = [
    "Volume",
    "VolumeInfo",
    "list_volumes",
    "find_volume",
    "create_volume",
    "create_volume_xml",
    "ALLOCATIONS",
    "ADAPTERS",
    "VOLUMES",
]

Browser = vim.host.DatastoreBrowser

#: create_volume(allocation=...) -> VirtualDiskType
ALLOCATIONS = {"thin": "thin", "thick": "preallocated", "eagerzeroedthick": "eagerZeroedThick"}
#: the VirtualDiskAdapterType values
ADAPTERS = ("lsiLogic", "busLogic", "ide")
_CONTROLLERS = {
    "VirtualLsiLogicController": "lsiLogic",
    "VirtualLsiLogicSASController": "lsiLogicsas",
    "ParaVirtualSCSIController": "pvscsi",
    "VirtualBusLogicController": "busLogic",
    "VirtualIDEController": "ide",
}
_TASK_TIMEOUT = 3600.0
# libvirt's "normal" characters of a datastore item; anything else it would escape
_PLAIN_ITEM = re.compile(r"[A-Za-z0-9'(),. _-]+")


def _search_spec(pattern: str = "*", *, folders: bool = False) -> Any:
    details = Browser.VmDiskQuery.Details(
        diskType=True, capacityKb=True, hardwareVersion=True, controllerType=True, thin=True
    )
    queries = (
        [Browser.FolderQuery()]
        if folders
        else [Browser.VmDiskQuery(details=details), Browser.IsoImageQuery(), Browser.FloppyImageQuery()]
    )
    return Browser.SearchSpec(
        query=queries,
        details=Browser.FileInfo.Details(fileType=True, fileSize=True, modification=False),
        matchPattern=[pattern],
    )


def _folder_of(folder_path: str) -> str:
    """``"[ds] dir/sub/"`` (or ``"[ds]/dir"``, as some servers write it) -> ``"dir/sub"``."""
    rest = folder_path.split("]", 1)[1] if "]" in folder_path else folder_path
    return rest.strip().strip("/")


def _search(pool: PoolLike, folder: str, spec: Any, *, recurse: bool) -> list[Any]:
    """The search results for ``[pool] folder`` (a list, one per folder)."""
    datastore_path = f"[{pool.name}] {folder}" if folder else f"[{pool.name}]"
    browser = retrieve(pool.conn.content, [pool.ref], ["browser"])[pool.ref]["browser"]
    description = f"searching {datastore_path}"
    with translate(description):
        task = (
            browser.SearchDatastoreSubFolders_Task(datastore_path, spec)
            if recurse
            else browser.SearchDatastore_Task(datastore_path, spec)
        )
    result = wait_for_task(pool.conn, task, timeout=600, description=description)
    if result is None:
        return []
    return list(result) if recurse else [result]


def _usage(pool: PoolLike) -> tuple[dict[str, list[str]], set[str]]:
    """``{"[ds] dir/disk.vmdk": [VM names]}`` for the disks (and snapshot parents) the pool's
    VMs use, and the disks they use eagerly scrubbed (eager-zeroed thick)."""
    vms = retrieve(pool.conn.content, [pool.ref], ["vm"]).get(pool.ref, {}).get("vm") or []
    used: dict[str, list[str]] = {}
    eager: set[str] = set()
    for props in retrieve(pool.conn.content, vms, ["name", "config.hardware.device"]).values():
        for device in props.get("config.hardware.device") or []:
            if not isinstance(device, vim.vm.device.VirtualDisk):
                continue
            backing = device.backing
            if getattr(backing, "eagerlyScrub", False):
                eager.add(backing.fileName)
            while backing is not None:
                name = getattr(backing, "fileName", None)
                if name:
                    used.setdefault(name, []).append(props.get("name") or "?")
                backing = getattr(backing, "parent", None)
    return used, eager


def _disk_uuid(pool: PoolLike, path: str) -> str:
    with translate(f"reading the UUID of {path}"):
        text = pool.conn.content.virtualDiskManager.QueryVirtualDiskUuid(path, pool.datacenter)
    return reformat_uuid(text)


def _volume_info(
    pool: PoolLike, folder: str, file: Any, users: dict[str, list[str]], eager: set[str]
) -> VolumeInfo:
    name = f"{folder}/{file.path}" if folder else file.path
    path = f"[{pool.name}] {name}"
    owner = ", ".join(users.get(path, [])) or None
    if isinstance(file, Browser.VmDiskInfo):
        fmt = "thin" if file.thin else ("eagerzeroedthick" if path in eager else "thick")
        return VolumeInfo(
            name=name,
            path=path,
            key=_disk_uuid(pool, path),
            type="vmdk",
            format=fmt,
            capacity=(file.capacityKb or 0) * 1024,
            allocation=file.fileSize or 0,
            adapter=_CONTROLLERS.get(short_type_name(file.controllerType) or ""),
            owner=owner,
        )
    kind = "iso" if isinstance(file, Browser.IsoImageInfo) else "raw"
    size = file.fileSize or 0
    return VolumeInfo(name, path, path, kind, None, size, size, None, owner)


def _volumes(
    pool: PoolLike, folder: str = "", pattern: str = "*", *, recurse: bool = True
) -> list[VolumeInfo]:
    results = _search(pool, folder, _search_spec(pattern), recurse=recurse)
    users, eager = _usage(pool)
    found = [
        _volume_info(pool, _folder_of(result.folderPath), file, users, eager)
        for result in results
        for file in result.file or []
    ]
    return sorted(found, key=lambda v: v.name)


def list_volumes(pool: PoolLike) -> pd.DataFrame:
    """One row per volume of ``pool``, sorted by name."""
    return records_frame(VOLUMES, (v.row() for v in _volumes(pool)))


def _split(name: str) -> tuple[str, str]:
    folder, _, file = name.rpartition("/")
    return folder, file


def _lookup(pool: PoolLike, name: str) -> VolumeInfo | None:
    folder, file = _split(name)
    if not file:
        return None
    try:
        found = _volumes(pool, folder, file, recurse=False)
    except errors.NotFoundError:  # the directory does not exist
        return None
    return next((v for v in found if v.name == name), None)


def find_volume(pool: PoolLike, name: str) -> Volume:
    """The volume ``name`` of ``pool`` (NotFoundError otherwise)."""
    if name.startswith("["):  # a datastore path, as libvirt's vol lookups also take
        prefix = f"[{pool.name}]"
        if not name.startswith(prefix):
            raise errors.NotFoundError(f"{name} is not in storage pool {pool.name!r}")
        name = name[len(prefix) :].strip()
    if _lookup(pool, name) is None:
        raise errors.NotFoundError(
            f"no storage volume {name!r} in pool {pool.name!r} (volumes are named dir/file.vmdk, "
            "as pool.volumes() lists them)"
        )
    return Volume(pool, name)


def _check_new_name(pool: PoolLike, name: str) -> None:
    """A name libvirt's ESX driver accepts (``directory/file.vmdk``) that is free."""
    folder, file = _split(name)
    if not folder or not file or name.startswith("/"):
        raise errors.ValidationError(
            f"volume name {name!r} doesn't have the expected format '<directory>/<file>.vmdk'"
        )
    if not file.lower().endswith(".vmdk"):
        raise errors.ValidationError(f"volume name {name!r} has an unsupported suffix: expecting '.vmdk'")
    for item in name.split("/"):
        if not _PLAIN_ITEM.fullmatch(item) or escape_datastore_item(item) != item:
            raise errors.ValidationError(
                f"volume name {name!r}: {item!r} may only use letters, digits, space and ' ( ) , . _ -"
            )
    if _lookup(pool, name) is not None:
        raise errors.ExistsError(
            f"storage volume {name!r} exists already in pool {pool.name!r}; not overwriting it"
        )


def _ensure_folder(pool: PoolLike, folder: str) -> None:
    parent, leaf = _split(folder)
    try:
        found = _search(pool, parent, _search_spec(leaf, folders=True), recurse=False)
    except errors.NotFoundError:
        found = []
    if any(file.path == leaf for result in found for file in result.file or []):
        return
    path = f"[{pool.name}] {folder}"
    with translate(f"creating directory {path}"):
        pool.conn.content.fileManager.MakeDirectory(path, pool.datacenter, True)


def _choice(value: str, allowed: Any, what: str) -> str:
    if value not in allowed:
        raise errors.ValidationError(f"{what} {value!r} is not one of: {', '.join(allowed)}")
    return value


def create_volume(
    pool: PoolLike,
    name: str,
    capacity_kb: int,
    *,
    allocation: str = "thin",
    adapter: str = "lsiLogic",
    progress: Progress | None = None,
    cancel_event: threading.Event | None = None,
) -> Volume:
    """Create the virtual disk ``[pool] name`` of ``capacity_kb`` KiB (CreateVirtualDisk_Task)."""
    disk_type = ALLOCATIONS[_choice(allocation, ALLOCATIONS, "allocation")]
    _choice(adapter, ADAPTERS, "adapter")
    if not isinstance(capacity_kb, int) or isinstance(capacity_kb, bool) or capacity_kb <= 0:
        raise errors.ValidationError(f"capacity must be a positive whole size, not {capacity_kb!r}")
    _check_new_name(pool, name)
    path = f"[{pool.name}] {name}"
    description = f"creating volume {path}"
    raise_if_cancelled(cancel_event, description)
    _ensure_folder(pool, _split(name)[0])
    spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
        diskType=disk_type, adapterType=adapter, capacityKb=capacity_kb
    )
    with translate(description):
        task = pool.conn.content.virtualDiskManager.CreateVirtualDisk_Task(path, pool.datacenter, spec)
    wait_for_task(
        pool.conn,
        task,
        progress=progress,
        cancel_event=cancel_event,
        timeout=_TASK_TIMEOUT,
        description=description,
    )
    return Volume(pool, name)


def create_volume_xml(
    pool: PoolLike,
    xml: str | bytes,
    *,
    progress: Progress | None = None,
    cancel_event: threading.Event | None = None,
) -> Volume:
    name, capacity_kb, allocation = parse_volume_xml(xml)
    return create_volume(
        pool, name, capacity_kb, allocation=allocation, progress=progress, cancel_event=cancel_event
    )


class Volume:
    """One volume of a pool: ``info()``, ``xml()``, ``delete()``, ``wipe()``, ``clone()``."""

    def __init__(self, pool: PoolLike, name: str) -> None:
        self.pool = pool
        self.name = name

    def __repr__(self) -> str:
        return f"<esxnb.Volume {self.path!r}>"

    @property
    def path(self) -> str:
        """The datastore path, ``[pool] dir/file.vmdk``."""
        return f"[{self.pool.name}] {self.name}"

    def _info(self) -> VolumeInfo:
        found = _lookup(self.pool, self.name)
        if found is None:
            raise errors.NotFoundError(f"storage volume {self.path} is gone")
        return found

    def info(self) -> dict[str, Any]:
        """``virsh vol-info`` (name, type, capacity, allocation in bytes) plus key, path,
        format, adapter and the VMs using it."""
        v = self._info()
        return {
            "name": v.name,
            "type": "file",
            "capacity": v.capacity,
            "allocation": v.allocation,
            "key": v.key,
            "path": v.path,
            "format": v.type,
            "provisioning": v.format,
            "adapter": v.adapter,
            "owner": v.owner,
        }

    def xml(self) -> str:
        """The volume in libvirt's ``<volume>`` format, as its ESX storage driver writes it."""
        return format_volume_xml(self._info())

    def _refuse_if_used(self, action: str) -> VolumeInfo:
        v = self._info()
        if v.owner:
            raise errors.InvalidStateError(
                f"not {action} storage volume {self.path}: it is a disk of the VM {v.owner} "
                "(detach it from the VM first)"
            )
        return v

    def _run(
        self, method: str, description: str, progress: Progress | None, cancel_event: Any, *args: Any
    ) -> Any:
        raise_if_cancelled(cancel_event, description)
        manager = self.pool.conn.content.virtualDiskManager
        with translate(description):
            task = getattr(manager, method)(*args)
        return wait_for_task(
            self.pool.conn,
            task,
            progress=progress,
            cancel_event=cancel_event,
            timeout=_TASK_TIMEOUT,
            description=description,
        )

    def delete(
        self, *, progress: Progress | None = None, cancel_event: threading.Event | None = None
    ) -> None:
        """Delete the volume (DeleteVirtualDisk_Task; other files through the FileManager).
        Refused while a VM uses it."""
        v = self._refuse_if_used("deleting")
        if v.type != "vmdk":
            delete_file(self.pool.conn, self.path, datacenter=self.pool.datacenter)
            return
        self._run(
            "DeleteVirtualDisk_Task",
            f"deleting volume {self.path}",
            progress,
            cancel_event,
            self.path,
            self.pool.datacenter,
        )

    def wipe(self, *, progress: Progress | None = None, cancel_event: threading.Event | None = None) -> None:
        """Overwrite the disk with zeros (ZeroFillVirtualDisk_Task). Refused while a VM uses it."""
        v = self._refuse_if_used("wiping")
        if v.type != "vmdk":
            raise errors.ValidationError(f"only virtual disks can be wiped; {self.path} is a {v.type} image")
        self._run(
            "ZeroFillVirtualDisk_Task",
            f"wiping volume {self.path}",
            progress,
            cancel_event,
            self.path,
            self.pool.datacenter,
        )

    def clone(
        self,
        new_name: str,
        *,
        allocation: str | None = None,
        adapter: str | None = None,
        progress: Progress | None = None,
        cancel_event: threading.Event | None = None,
    ) -> Volume:
        """A copy ``new_name`` (``dir/file.vmdk``) in the same pool, with its own UUID
        (CopyVirtualDisk_Task). It keeps the source's provisioning and adapter unless
        ``allocation``/``adapter`` say otherwise. Never overwrites."""
        source = self._info()
        if source.type != "vmdk":
            raise errors.ValidationError(
                f"only virtual disks can be cloned; {self.path} is a {source.type} image"
            )
        word = allocation or ("thin" if source.format == "thin" else "thick")
        if source.format == "eagerzeroedthick" and allocation is None:
            word = "eagerzeroedthick"
        disk_type = ALLOCATIONS[_choice(word, ALLOCATIONS, "allocation")]
        adapter_type = _choice(adapter or source.adapter or "lsiLogic", ADAPTERS, "adapter")
        _check_new_name(self.pool, new_name)
        target = Volume(self.pool, new_name)
        description = f"cloning volume {self.path} to {target.path}"
        raise_if_cancelled(cancel_event, description)
        _ensure_folder(self.pool, _split(new_name)[0])
        spec = vim.VirtualDiskManager.VirtualDiskSpec(diskType=disk_type, adapterType=adapter_type)
        dc = self.pool.datacenter
        self._run(
            "CopyVirtualDisk_Task",
            description,
            progress,
            cancel_event,
            self.path,
            dc,
            target.path,
            dc,
            spec,
            False,
        )
        return target
