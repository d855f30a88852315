"""Shared folders: VMX ``sharedFolderN`` entries -> ``<filesystem>`` (``read_filesystem``)
and back (``format_filesystems``)."""

from __future__ import annotations

from lxml import etree

from ..errors import ConversionError
from ._from_native_values import Entries, xml_escape

# -- VMX -> domain XML ----------------------------------------------------------------------


def read_filesystem(e: Entries, number: int) -> str | None:
    prefix = f"sharedFolder{number}"
    present = e.boolean(prefix + ".present", False)
    enabled = e.boolean(prefix + ".enabled", False)
    if not (present and enabled):
        return None
    host_path = e.string(prefix + ".hostPath", required=True)
    guest_name = e.string(prefix + ".guestName", required=True)
    write_access = e.boolean(prefix + ".writeAccess", False)
    readonly = "" if write_access else "      <readonly/>\n"
    return (
        "    <filesystem type='mount' accessmode='passthrough'>\n"
        f"      <source dir='{xml_escape(host_path)}'/>\n"
        f"      <target dir='{xml_escape(guest_name)}'/>\n"
        f"{readonly}    </filesystem>\n"
    )


# -- domain XML -> VMX ----------------------------------------------------------------------


def format_filesystems(filesystems: list[etree._Element], out: list[tuple[str, str]]) -> None:
    if not filesystems:
        return
    out.append(("isolation.tools.hgfs.disable", "false"))
    out.append(("sharedFolder.maxNum", str(len(filesystems))))
    for number, el in enumerate(filesystems):
        kind = el.get("type") or "mount"
        if kind != "mount":
            raise ConversionError(
                f"filesystem {number} has type '{kind}'; ESX shared folders are type 'mount'"
            )
        source = el.find("source")
        target = el.find("target")
        host_path = source.get("dir") if source is not None else None
        guest_name = target.get("dir") if target is not None else None
        if not host_path:
            raise ConversionError(f"filesystem {number} needs <source dir='host path'/>")
        if not guest_name:
            raise ConversionError(f"filesystem {number} needs <target dir='name in the guest'/>")
        prefix = f"sharedFolder{number}"
        out.append((f"{prefix}.present", "true"))
        out.append((f"{prefix}.enabled", "true"))
        out.append((f"{prefix}.readAccess", "true"))
        out.append((f"{prefix}.writeAccess", "false" if el.find("readonly") is not None else "true"))
        out.append((f"{prefix}.hostPath", host_path))
        out.append((f"{prefix}.guestName", guest_name))
