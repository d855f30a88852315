"""Datastore paths: ``[datastore] directory/file`` <-> the file names a VMX holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from ..errors import ConversionError

__all__ = [
    "DatastoreResolver",
    "OfflineDatastores",
    "UNKNOWN_VMX_DIR",
    "datastore_directory",
    "join_datastore_path",
    "split_datastore_path",
]

VOLUMES = "/vmfs/volumes/"
# What virsh domxml-from-native uses as the directory of a VMX whose location it does not know.
UNKNOWN_VMX_DIR = "[?] ?"


@runtime_checkable
class DatastoreResolver(Protocol):
    """Turns VMX file names into datastore paths and back (offline rules or a live host)."""

    def to_datastore_path(self, file_name: str, *, vmx_dir: str | None, allow_missing: bool) -> str | None:
        """VMX file name -> ``"[ds] dir/file"`` (or an absolute path outside any datastore).

        ``vmx_dir`` is the datastore path of the VMX file's directory (``"[ds] dir"``), used
        for bare file names. Returns None for a missing file when ``allow_missing`` (CD-ROM,
        floppy); raises :class:`ConversionError` naming the file otherwise.
        """
        ...

    def to_vmx_path(self, datastore_path: str) -> str:
        """``"[ds] dir/file"`` -> ``"/vmfs/volumes/ds/dir/file"``; absolute stays; relative is an error."""
        ...


def split_datastore_path(datastore_path: str) -> tuple[str, str]:
    """``"[ds] dir/file"`` -> ``("ds", "dir/file")``; the path part may be empty."""
    if not datastore_path.startswith("[") or datastore_path.startswith("[]"):
        raise ConversionError(
            f"datastore path {datastore_path!r} does not have the expected format '[<datastore>] <path>'"
        )
    close = datastore_path.find("]", 1)
    if close < 0:
        raise ConversionError(f"datastore path {datastore_path!r} lacks the ']' closing the datastore name")
    return datastore_path[1:close], datastore_path[close + 1 :].lstrip(" ")


def join_datastore_path(directory: str, file_name: str) -> str:
    """``"[ds] dir"`` + ``"f"`` -> ``"[ds] dir/f"``; ``"[ds]"`` + ``"f"`` -> ``"[ds] f"``."""
    if directory.endswith("]"):
        return f"{directory} {file_name}"
    return f"{directory.rstrip('/')}/{file_name}"


def datastore_directory(path: str) -> str:
    """The directory part of a datastore path: ``"[ds] dir/f.vmx"`` -> ``"[ds] dir"``, ``"[ds] f"`` -> ``"[ds]"``."""
    if path.startswith("["):
        datastore, rest = split_datastore_path(path)
        slash = rest.rfind("/")
        return f"[{datastore}] {rest[:slash]}" if slash > 0 else f"[{datastore}]"
    slash = path.rfind("/")
    return path[:slash] if slash > 0 else "/"


class OfflineDatastores:
    """The offline rules of libvirt's own tests (see the conformance corpus README).

    - ``/vmfs/volumes/<ds>/<path>`` -> ``[<ds>] <path>``, with ``<ds>`` renamed through
      ``names`` (e.g. a volume UUID to its datastore name);
    - a datastore called ``missing_marker`` or a path starting with it is a missing file
      (None for CD-ROMs/floppies, an error otherwise); pass ``missing_marker=None`` to
      treat every file as present;
    - other absolute paths stay; a relative path with ``/`` is an error; a bare file name
      lives in the VMX file's directory (``"[?] ?"`` when that is unknown, as in virsh).
    """

    __slots__ = ("names", "missing_marker")

    def __init__(
        self, names: Mapping[str, str] | None = None, *, missing_marker: str | None = "missing"
    ) -> None:
        self.names: dict[str, str] = dict(names or {})
        self.missing_marker = missing_marker

    def __repr__(self) -> str:
        return f"OfflineDatastores(names={self.names!r})"

    def to_datastore_path(self, file_name: str, *, vmx_dir: str | None, allow_missing: bool) -> str | None:
        if file_name.startswith(VOLUMES):
            rest = file_name[len(VOLUMES) :].lstrip("/")
            slash = rest.find("/")
            if slash <= 0 or slash == len(rest) - 1:
                raise ConversionError(
                    f"file name {file_name!r} does not have the expected format '/vmfs/volumes/<datastore>/<path>'"
                )
            datastore, path = rest[:slash], rest[slash + 1 :]
            marker = self.missing_marker
            if marker is not None and (datastore == marker or path.startswith(marker)):
                if allow_missing:
                    return None
                raise ConversionError(f"referenced file {file_name!r} does not exist")
            return f"[{self.names.get(datastore, datastore)}] {path}"
        if file_name.startswith("/"):
            return file_name
        if "/" in file_name:
            raise ConversionError(
                f"file name {file_name!r} is a relative path; use a bare file name (in the VMX file's "
                f"directory) or an absolute path such as /vmfs/volumes/<datastore>/<path>"
            )
        return join_datastore_path(UNKNOWN_VMX_DIR if vmx_dir is None else vmx_dir, file_name)

    def to_vmx_path(self, datastore_path: str) -> str:
        if datastore_path.startswith("["):
            datastore, path = split_datastore_path(datastore_path)
            return f"{VOLUMES}{datastore}/{path}"
        if datastore_path.startswith("/"):
            return datastore_path
        raise ConversionError(
            f"file {datastore_path!r} is a relative path; use '[<datastore>] <path>' or an absolute path"
        )
