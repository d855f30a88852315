"""virsh's snapshot commands for ``esxnb`` (``snapshot-create-as``, ``snapshot-list``,
``snapshot-info``, ``snapshot-dumpxml``, ``snapshot-current``, ``snapshot-revert``,
``snapshot-delete``), printing what virsh prints."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from . import errors
from ._cli_common import Reply, info_lines, register_command, vsh_table
from ._cli_virsh import find_domain_arg
from .snapshot import format_snapshot_xml, walk

__all__ = ["register", "snapshot_tree"]


def _records(domain: Any) -> list[dict[str, Any]]:
    """The domain's snapshots as virsh lists them: by name, case-insensitively."""
    from .snapshot import snapshot_info

    return sorted(walk(snapshot_info(domain)), key=lambda r: (r["name"].lower(), r["name"]))


def _local_time(created: Any) -> str:
    return created.astimezone().strftime("%Y-%m-%d %H:%M:%S %z") if created is not None else ""


def snapshot_tree(records: list[dict[str, Any]]) -> str:
    """The ``--tree`` picture, as virsh's vshTreePrint draws it."""
    lines: list[str] = []
    names = [r["name"] for r in records]
    parents = [r["parent"] for r in records]

    def draw(index: int, last: int, root: bool, indent: str) -> None:
        lines.append(f"{indent}{'' if root else '+- '}{names[index]}")
        if not root:
            indent += (" " if index == last else "|") + " "
        children = [i for i, parent in enumerate(parents) if parent == names[index]]
        if children:
            lines.append(f"{indent}  |")
        for child in children:
            draw(child, children[-1], False, indent + "  ")
        if not children and index == last:
            lines.append(indent)

    for index, parent in enumerate(parents):
        if parent is None:
            draw(index, index, True, "")
    return "".join(f"{line}\n" for line in lines)


def _json(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "created": record["created"].isoformat() if record["created"] else None}


def _create_as(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    snapshot = domain.snapshot_create(
        args.name, description=args.description or "", memory=not args.disk_only, quiesce=args.quiesce
    )
    return Reply(f"Domain snapshot {snapshot.name} created\n", {"name": snapshot.name}, blank_line=False)


def _list(conn: Any, args: argparse.Namespace) -> Reply:
    records = _records(find_domain_arg(conn, args.domain))
    data = [_json(r) for r in records]
    if args.tree:
        return Reply(snapshot_tree(records), data)
    if args.name:
        return Reply("".join(f"{r['name']}\n" for r in records), data)
    header: tuple[str, ...] = ("Name", "Creation Time", "State")
    rows = [[r["name"], _local_time(r["created"]), r["state"]] for r in records]
    if args.parent:
        header += ("Parent",)
        for row, record in zip(rows, records):
            row.append(record["parent"] or "")
    return Reply(vsh_table(header, rows), data)


def _snapshot(conn: Any, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    domain = find_domain_arg(conn, args.domain)
    if getattr(args, "current", False) or not args.snapshotname:
        current = domain.current_snapshot()
        if current is None:
            raise errors.NotFoundError(f"domain {domain.name!r} has no current snapshot")
        return domain, current.info()
    return domain, domain.snapshot(args.snapshotname).info()


def _descendants(records: list[dict[str, Any]], name: str) -> int:
    children = [r["name"] for r in records if r["parent"] == name]
    return len(children) + sum(_descendants(records, child) for child in children)


def _info(conn: Any, args: argparse.Namespace) -> Reply:
    domain, record = _snapshot(conn, args)
    records = _records(domain)
    pairs = [
        ("Name", record["name"]),
        ("Domain", domain.name),
        ("Current", "yes" if record["current"] else "no"),
        ("State", record["state"]),
        ("Location", "internal"),
        ("Parent", record["parent"] or "-"),
        ("Children", len(record["children"])),
        ("Descendants", _descendants(records, record["name"])),
        ("Metadata", "no"),  # libvirt keeps no snapshot metadata of its own for ESX
    ]
    return Reply(info_lines(pairs), _json(record))


def _dumpxml(conn: Any, args: argparse.Namespace) -> Reply:
    domain, record = _snapshot(conn, args)
    xml = format_snapshot_xml(record, domain.uuid)
    return Reply(xml, {"xml": xml})


def _current(conn: Any, args: argparse.Namespace) -> Reply:
    domain, record = _snapshot(conn, args)
    if args.name:
        return Reply(f"{record['name']}\n", {"name": record["name"]}, blank_line=False)
    xml = format_snapshot_xml(record, domain.uuid)
    return Reply(xml, {"xml": xml})


def _revert(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    snapshot = domain.current_snapshot() if args.current else domain.snapshot(args.snapshotname)
    if snapshot is None:
        raise errors.NotFoundError(f"domain {domain.name!r} has no current snapshot")
    snapshot.revert()
    return Reply(f"Domain snapshot {snapshot.name} reverted\n", {"name": snapshot.name})


def _delete(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    snapshot = domain.current_snapshot() if args.current else domain.snapshot(args.snapshotname)
    if snapshot is None:
        raise errors.NotFoundError(f"domain {domain.name!r} has no current snapshot")
    snapshot.delete(children=args.children)
    # virsh says "children deleted" only for --children-only, which ESX cannot do
    return Reply(
        f"Domain snapshot {snapshot.name} deleted\n", {"name": snapshot.name, "children": args.children}
    )


def register(commands: Any) -> None:
    """Add virsh's snapshot commands to the ``esxnb`` parser."""

    def command(name: str, help_text: str, run: Callable[[Any, argparse.Namespace], Reply]) -> Any:
        sub = register_command(commands, name, help_text, run)
        sub.add_argument("domain", metavar="DOMAIN", help="domain ID, UUID or name")
        return sub

    def named(name: str, help_text: str, run: Callable[[Any, argparse.Namespace], Reply]) -> Any:
        sub = command(name, help_text, run)
        sub.add_argument("snapshotname", metavar="SNAPSHOT", nargs="?", help="snapshot name")
        sub.add_argument("--current", action="store_true", help="the current snapshot")
        return sub

    sub = command("snapshot-create-as", "create a snapshot from a set of args", _create_as)
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("description", metavar="DESCRIPTION", nargs="?", default="")
    sub.add_argument("--disk-only", action="store_true", help="without the guest's memory")
    sub.add_argument("--quiesce", action="store_true", help="quiesce the guest's file systems (needs tools)")
    sub = command("snapshot-list", "list snapshots of a domain", _list)
    sub.add_argument("--tree", action="store_true", help="list snapshots in a tree")
    sub.add_argument("--parent", action="store_true", help="add a column showing the parent snapshot")
    sub.add_argument("--name", action="store_true", help="list snapshot names only")
    named("snapshot-info", "snapshot information", _info)
    named("snapshot-dumpxml", "dump XML for a domain snapshot", _dumpxml)
    sub = command("snapshot-current", "get the current snapshot", _current)
    sub.add_argument("--name", action="store_true", help="list the name, rather than the full xml")
    sub.set_defaults(snapshotname=None, current=True)
    named("snapshot-revert", "revert a domain to a snapshot", _revert)
    sub = named("snapshot-delete", "delete a domain snapshot", _delete)
    sub.add_argument("--children", action="store_true", help="delete snapshot and all children")
