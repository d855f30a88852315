"""``datastore_files``: every file on the datastores, and whether a VM or template uses it.

The one estate table the PropertyCollector cannot fill: a ``SearchDatastoreSubFolders`` task
per datastore (the searches run side by side), matched against the files every VM's layout and
disks name (read with the other tables, in the same retrieval). A disk descriptor no VM uses is
``orphaned``, as estate audits report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from .._faults import translate
from .._tables import Column, Row, TableSpec, records_frame
from ..tasks import wait_for_task
from ._values import get, items

if TYPE_CHECKING:
    import pandas as pd

    from .._protocol import ConnectionLike

__all__ = ["DATASTORE_FILES", "VM_FILES", "datastore_files", "referenced_files"]

_SEARCH_TIMEOUT = 600.0
# A disk's extents and side files; only the descriptor itself can be "orphaned".
_NOT_DESCRIPTOR = re.compile(r"-(flat|delta|sesparse|ctk|rdm|rdmp|\d{6})\.vmdk$", re.I)


def _vm_file_names(row: Row) -> Iterator[str]:
    for entry in items(row.get("layoutEx.file")):
        name = get(entry, "name")
        if name:
            yield str(name)
    for device in items(row.get("config.hardware.device")):
        backing = get(device, "backing")
        while backing is not None:
            name = get(backing, "fileName")
            if name:
                yield str(name)
            backing = get(backing, "parent")


#: Not an estate table: read with the others so datastore_files knows what VMs use.
VM_FILES = TableSpec(
    name="_vm_files",
    types=("VirtualMachine",),
    paths=("layoutEx.file", "config.hardware.device"),
    columns=(Column("file", value=lambda row: row.item),),
    expand=_vm_file_names,
)

DATASTORE_FILES = TableSpec(
    name="datastore_files",
    types=(),
    paths=(),
    columns=(
        Column("datastore"),
        Column("path"),
        Column("folder"),
        Column("file"),
        Column("kind"),
        Column("size_mib", "Float64"),
        Column("modified", "datetime64[ns, UTC]"),
        Column("referenced", "boolean"),
        Column("orphaned", "boolean"),
        Column("datastore_moref"),
    ),
    sort=("datastore", "path"),
    doc="One row per file on every datastore; orphaned: a disk descriptor no VM or template uses.",
)


def _kind(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".vmdk"):
        return "disk extent" if _NOT_DESCRIPTOR.search(lower) else "disk"
    for suffix, kind in (
        (".vmx", "config"),
        (".vmsd", "snapshot list"),
        (".vmsn", "snapshot"),
        (".nvram", "nvram"),
        (".log", "log"),
        (".iso", "iso"),
        (".flp", "floppy"),
        (".vswp", "swap"),
        (".png", "screenshot"),
    ):
        if lower.endswith(suffix):
            return kind
    return "other"


def referenced_files(files: Iterable[str]) -> set[str]:
    """Datastore paths as VMs name them, normalised (``"[ds] dir/file"``, no doubled spaces)."""
    return {re.sub(r"\]\s*", "] ", f.strip()) for f in files}


def _search(conn: ConnectionLike, name: str, moref: str) -> list[Any]:
    datastore = vim.Datastore(moref, conn.session.stub)
    spec = vim.host.DatastoreBrowser.SearchSpec(
        details=vim.host.DatastoreBrowser.FileInfo.Details(fileType=True, fileSize=True, modification=True),
        matchPattern=["*"],
    )
    description = f"searching datastore {name}"
    with translate(description):
        task = datastore.browser.SearchDatastoreSubFolders_Task(f"[{name}]", spec)
    return list(wait_for_task(conn, task, timeout=_SEARCH_TIMEOUT, description=description) or [])


def datastore_files(conn: ConnectionLike, datastores: pd.DataFrame, used: set[str]) -> pd.DataFrame:
    """The files of ``datastores`` (the ``datastores`` table), searched side by side."""
    import pandas as pd

    targets = [
        (r.name, r.moref) for r in datastores.itertuples() if r.accessible is pd.NA or bool(r.accessible)
    ]
    with ThreadPoolExecutor(max_workers=min(8, max(len(targets), 1))) as pool:
        results = list(pool.map(lambda t: _search(conn, *t), targets))
    records = []
    for (name, moref), folders in zip(targets, results):
        for folder in folders:
            folder_path = str(folder.folderPath)
            inside = folder_path.split("]", 1)[1].strip().strip("/") if "]" in folder_path else ""
            for info in folder.file or []:
                relative = f"{inside}/{info.path}" if inside else info.path
                path = f"[{name}] {relative}"
                kind = _kind(info.path)
                referenced = path in used
                records.append(
                    {
                        "datastore": name,
                        "path": path,
                        "folder": inside,
                        "file": info.path,
                        "kind": kind,
                        "size_mib": round((info.fileSize or 0) / 2**20, 1),
                        "modified": info.modification,
                        "referenced": referenced,
                        "orphaned": kind == "disk" and not referenced,
                        "datastore_moref": moref,
                    }
                )
    return records_frame(DATASTORE_FILES, records)
