"""libvirt's ``<domainsnapshot>`` XML for ESX snapshots: written as its ESX driver writes it
(virsh snapshot-dumpxml), read as it reads what ``snapshot-create`` is given."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from .. import errors
from .._libvirt_xml import child_text, esc, parse_root

__all__ = ["SnapshotDefinition", "format_snapshot_xml", "parse_snapshot_xml"]


@dataclass(frozen=True)
class SnapshotDefinition:
    """What a ``<domainsnapshot>`` asks for."""

    name: str
    description: str
    memory: bool


def format_snapshot_xml(record: dict[str, Any], domain_uuid: str) -> str:
    """``<domainsnapshot>`` of one snapshot record (see :func:`esxnb.snapshot.walk`)."""
    lines = [
        "<domainsnapshot>",
        f"  <name>{esc(record['name'])}</name>",
        f"  <description>{esc(record['description'] or '')}</description>",
        f"  <state>{record['state']}</state>",
    ]
    if record["parent"] is not None:
        lines += ["  <parent>", f"    <name>{esc(record['parent'])}</name>", "  </parent>"]
    created = record["created"]
    if created is not None:
        lines.append(f"  <creationTime>{calendar.timegm(created.utctimetuple())}</creationTime>")
    lines += ["  <domain>", f"    <uuid>{domain_uuid}</uuid>", "  </domain>", "</domainsnapshot>"]
    return "\n".join(lines) + "\n"


def parse_snapshot_xml(xml: str | bytes) -> SnapshotDefinition:
    """A ``<domainsnapshot>`` checked as libvirt's ESX driver checks it: disk snapshots are
    refused, ``<memory snapshot='no'/>`` asks for a disk-only snapshot, a missing name becomes
    the current time in seconds (libvirt's default name)."""
    root = parse_root(xml, "domainsnapshot", "domain snapshot")
    if root.find("disks") is not None and len(root.find("disks")):
        raise errors.ValidationError(
            "<disks> in <domainsnapshot>: ESX snapshots cover every disk; per-disk snapshots are not supported"
        )
    memory = True
    element = root.find("memory")
    if element is not None:
        kind = element.get("snapshot", "internal")
        if kind not in ("no", "internal"):
            raise errors.ValidationError(
                f"<memory snapshot='{kind}'>: ESX keeps the memory with the snapshot ('internal') or not at all ('no')"
            )
        memory = kind == "internal"
    name = child_text(root, "name") or str(calendar.timegm(dt.datetime.now(dt.timezone.utc).utctimetuple()))
    return SnapshotDefinition(name=name, description=child_text(root, "description") or "", memory=memory)
