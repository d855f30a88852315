"""What a volume is (its row in ``volumes()``) and libvirt's ``<volume>`` XML for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .. import errors
from .._libvirt_xml import child_text, esc, parse_root, parse_size
from .._tables import Column, TableSpec

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["PoolLike", "VOLUMES", "VolumeInfo", "parse_volume_xml", "format_volume_xml"]


class PoolLike(Protocol):
    """What volume operations need of their storage pool (:class:`StoragePool` is one)."""

    conn: ConnectionLike
    ref: Any
    name: str

    @property
    def datacenter(self) -> Any: ...


VOLUMES = TableSpec(
    name="volumes",
    types=(),
    paths=(),
    columns=(
        Column("name", "string"),
        Column("path", "string"),
        Column("key", "string"),
        Column("type", "string"),
        Column("format", "string"),
        Column("capacity", "Int64"),
        Column("allocation", "Int64"),
        Column("adapter", "string"),
        Column("owner", "string"),
    ),
)


@dataclass(frozen=True)
class VolumeInfo:
    """One file of a pool; sizes in bytes. ``type`` is libvirt's format (vmdk, iso, raw),
    ``format`` the disk's provisioning (thin, thick, eagerzeroedthick)."""

    name: str
    path: str
    key: str
    type: str
    format: str | None
    capacity: int
    allocation: int
    adapter: str | None
    owner: str | None

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in VOLUMES.column_names}


def parse_volume_xml(xml: str | bytes) -> tuple[str, int, str]:
    """(name, capacity in KiB, allocation word) from libvirt ``<volume>`` XML, checked as
    libvirt's ESX driver checks it."""
    root = parse_root(xml, "volume", "volume")
    kind = root.get("type", "file")
    if kind != "file":
        raise errors.ValidationError(f"<volume type='{kind}'>: creating non-file volumes is not supported")
    name = child_text(root, "name")
    if not name:
        raise errors.ValidationError("<volume> needs a <name> (directory/file.vmdk)")
    capacity_el = root.find("capacity")
    if capacity_el is None or not (capacity_el.text or "").strip():
        raise errors.ValidationError("<volume> needs a <capacity>")
    capacity = parse_size(capacity_el.text or "", capacity_el.get("unit"), "<capacity>")
    allocation_el = root.find("allocation")
    allocation = (
        capacity
        if allocation_el is None
        else parse_size(allocation_el.text or "", allocation_el.get("unit"), "<allocation>")
    )
    fmt = root.find("target/format")
    fmt_type = fmt.get("type") if fmt is not None else "vmdk"
    if fmt_type != "vmdk":
        raise errors.ValidationError(f"creation of {fmt_type} volumes is not supported (only vmdk)")
    if capacity <= 0:
        raise errors.ValidationError("<capacity> must be more than 0 bytes")
    if allocation == capacity:
        word = "thick"
    elif allocation == 0:
        word = "thin"
    else:
        raise errors.ValidationError(
            f"unsupported capacity-to-allocation relation: <allocation> must be 0 (thin) or equal to "
            f"<capacity> (thick), not {allocation} of {capacity} bytes"
        )
    return name, -(-capacity // 1024), word


def format_volume_xml(v: VolumeInfo) -> str:
    """``<volume>`` as libvirt's virStorageVolDefFormat writes the ESX driver's definition."""
    return (
        "<volume type='file'>\n"
        f"  <name>{esc(v.name)}</name>\n"
        f"  <key>{esc(v.key)}</key>\n"
        f"  <capacity unit='bytes'>{v.capacity}</capacity>\n"
        f"  <allocation unit='bytes'>{v.allocation}</allocation>\n"
        "  <target>\n"
        f"    <path>{esc(v.path)}</path>\n"
        f"    <format type='{v.type}'/>\n"
        "  </target>\n"
        "</volume>\n"
    )
