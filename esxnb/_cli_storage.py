"""``esxnb`` sub-commands for storage pools, volumes, networks and interfaces, in virsh's words
and with virsh's output (its tables, ``vol-info``/``pool-info`` lines and messages, and the
empty line virsh prints after each command)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ._cli_common import Reply, info_lines, pretty_capacity, read_input, records, register_command, vsh_table
from .errors import EsxnbError, NotFoundError

__all__ = ["register"]


def _pool_list(conn: Any, args: argparse.Namespace) -> Reply:
    frame = conn.pools()
    return Reply(_pool_table(frame, args.details), records(frame))


def _pool_table(frame: Any, details: bool) -> str:
    if not details:
        rows = [(r.name, "active", "yes") for r in frame.itertuples()]
        return vsh_table(("Name", "State", "Autostart"), rows)
    rows = []
    for r in frame.itertuples():
        sizes = (
            [pretty_capacity(int(v)) for v in (r.capacity, r.allocation, r.available)]
            if r.state == "running"
            else ["-", "-", "-"]
        )
        rows.append((r.name, r.state, "yes", "yes", *sizes))
    return vsh_table(
        ("Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"), rows
    )


def _pool_info(conn: Any, args: argparse.Namespace) -> str:
    info = conn.pool(args.pool).info()
    pairs: list[tuple[str, Any]] = [
        ("Name", info["name"]),
        ("UUID", info["uuid"]),
        ("State", info["state"]),
        ("Persistent", "yes"),
        ("Autostart", "yes"),
    ]
    if info["state"] == "running":
        for label in ("capacity", "allocation", "available"):
            value = info[label]
            pairs.append((label.capitalize(), value if args.bytes else pretty_capacity(value)))
    return info_lines(pairs)


def _pool_refresh(conn: Any, args: argparse.Namespace) -> str:
    conn.pool(args.pool).refresh()
    return f"Pool {args.pool} refreshed\n"


def _vol_list(conn: Any, args: argparse.Namespace) -> Reply:
    frame = conn.pool(args.pool).volumes()
    return Reply(_vol_table(frame, args.details), records(frame))


def _vol_table(frame: Any, details: bool) -> str:
    if not details:
        return vsh_table(("Name", "Path"), [(r.name, r.path) for r in frame.itertuples()])
    rows = [
        (r.name, r.path, "file", pretty_capacity(int(r.capacity)), pretty_capacity(int(r.allocation)))
        for r in frame.itertuples()
    ]
    return vsh_table(("Name", "Path", "Type", "Capacity", "Allocation"), rows)


def _volume(conn: Any, vol: str, pool: str | None) -> Any:
    """A volume by datastore path, by name in --pool, or by key (as virsh looks them up)."""
    if vol.startswith("["):
        name = vol[1:].split("]", 1)[0]
        return conn.pool(name).volume(vol)
    if pool:
        return conn.pool(pool).volume(vol)
    for name in conn.pools()["name"]:
        frame = conn.pool(name).volumes()
        match = frame[frame["key"] == vol]
        if len(match):
            return conn.pool(name).volume(match.iloc[0]["name"])
    raise NotFoundError(f"no storage volume with key or path {vol!r} (give a name with --pool POOL)")


def _vol_info(conn: Any, args: argparse.Namespace) -> str:
    volume = _volume(conn, args.vol, args.pool)
    info = volume.info()
    pairs: list[tuple[str, Any]] = [("Name", info["name"]), ("Type", "file")]
    for label in ("capacity", "allocation"):
        value = info[label]
        pairs.append((label.capitalize(), f"{value} bytes" if args.bytes else pretty_capacity(value)))
    return info_lines(pairs)


def _vol_dumpxml(conn: Any, args: argparse.Namespace) -> str:
    return _volume(conn, args.vol, args.pool).xml()


def _vol_create_as(conn: Any, args: argparse.Namespace) -> str:
    from ._libvirt_xml import parse_size

    if args.format != "vmdk":
        raise EsxnbError(f"creation of {args.format} volumes is not supported (only vmdk)")
    capacity = parse_size(args.capacity, None, "capacity")
    allocation = capacity if args.allocation is None else parse_size(args.allocation, None, "--allocation")
    if allocation not in (0, capacity):
        raise EsxnbError(
            "unsupported capacity-to-allocation relation: --allocation must be 0 (thin) or the capacity (thick)"
        )
    from .datastore import create_volume

    create_volume(
        conn.pool(args.pool),
        args.name,
        -(-capacity // 1024),
        allocation="thin" if allocation == 0 else "thick",
    )
    return f"Vol {args.name} created\n"


def _vol_clone(conn: Any, args: argparse.Namespace) -> str:
    source = _volume(conn, args.vol, args.pool)
    source.clone(args.newname)
    return f"Vol {args.newname} cloned from {source.name}\n"


def _vol_delete(conn: Any, args: argparse.Namespace) -> str:
    _volume(conn, args.vol, args.pool).delete()
    return f"Vol {args.vol} deleted\n"


def _vol_wipe(conn: Any, args: argparse.Namespace) -> str:
    _volume(conn, args.vol, args.pool).wipe()
    return f"Vol {args.vol} wiped\n"


def _net_list(conn: Any, args: argparse.Namespace) -> Reply:
    frame = conn.networks()
    if args.inactive:
        frame = frame.iloc[0:0]  # ESX networks are always active
    rows = [(name, "active", "yes", "yes") for name in frame["name"]]
    return Reply(vsh_table(("Name", "State", "Autostart", "Persistent"), rows), records(frame))


def _net_info(conn: Any, args: argparse.Namespace) -> str:
    info = conn.network(args.network).info()
    return info_lines(
        [
            ("Name", info.name),
            ("UUID", info.uuid),
            ("Active", "yes"),
            ("Persistent", "yes"),
            ("Autostart", "yes"),
        ]
    )


def _net_dumpxml(conn: Any, args: argparse.Namespace) -> str:
    return conn.network(args.network).xml()


def _net_define(conn: Any, args: argparse.Namespace) -> str:
    network = conn.define_network(read_input(args.file))
    return f"Network {network.name} defined from {args.file}\n"


def _net_undefine(conn: Any, args: argparse.Namespace) -> str:
    network = conn.network(args.network)
    network.undefine()
    return f"Network {network.name} has been undefined\n"


def _iface_list(conn: Any, args: argparse.Namespace) -> Reply:
    frame = conn.interfaces()
    if args.inactive:
        frame = frame.iloc[0:0]  # ESX interfaces are always active
    rows = [(r.name, "active", r.mac) for r in frame.itertuples()]
    return Reply(vsh_table(("Name", "State", "MAC Address"), rows), records(frame))


def _iface_dumpxml(conn: Any, args: argparse.Namespace) -> str:
    return conn.interface(args.interface).xml(inactive=args.inactive)


def register(commands: Any) -> None:
    """Add the pool-, vol-, net- and iface- commands to the ``esxnb`` parser."""

    def command(name: str, help_text: str, run: Callable[[Any, argparse.Namespace], str | Reply]) -> Any:
        return register_command(commands, name, help_text, run)

    def vol_args(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("vol", metavar="VOL", help="volume name (with --pool), key or '[datastore] path'")
        sub.add_argument("--pool", help="pool name")

    sub = command("pool-list", "list storage pools (datastores)", _pool_list)
    sub.add_argument("--all", action="store_true", help="list inactive & active pools (all are active)")
    sub.add_argument("--details", action="store_true", help="display extended details for pools")
    sub = command("pool-info", "storage pool information", _pool_info)
    sub.add_argument("pool", metavar="POOL")
    sub.add_argument("--bytes", action="store_true", help="reture pool info in bytes")
    command(
        "pool-dumpxml", "storage pool information in XML", lambda c, a: c.pool(a.pool).xml()
    ).add_argument("pool", metavar="POOL")
    command("pool-refresh", "refresh a pool", _pool_refresh).add_argument("pool", metavar="POOL")
    sub = command("vol-list", "list volumes of a pool", _vol_list)
    sub.add_argument("pool", metavar="POOL")
    sub.add_argument("--details", action="store_true", help="display extended details for volumes")
    sub = command("vol-info", "storage volume information", _vol_info)
    vol_args(sub)
    sub.add_argument(
        "--bytes", action="store_true", help="sizes are represented in bytes rather than pretty units"
    )
    vol_args(command("vol-dumpxml", "vol information in XML", _vol_dumpxml))
    sub = command("vol-create-as", "create a virtual disk from a set of args", _vol_create_as)
    sub.add_argument("pool", metavar="POOL")
    sub.add_argument("name", metavar="NAME", help="directory/file.vmdk")
    sub.add_argument(
        "capacity", metavar="SIZE", help="size with an optional unit (k, M, G, T; default bytes)"
    )
    sub.add_argument("--allocation", help="0 for a thin disk, the capacity (default) for a thick one")
    sub.add_argument("--format", default="vmdk", help="file format type (only vmdk)")
    sub = command("vol-clone", "clone a volume", _vol_clone)
    vol_args(sub)
    sub.add_argument("newname", metavar="NEWNAME", help="directory/file.vmdk")
    vol_args(command("vol-delete", "delete a volume (never one a VM uses)", _vol_delete))
    vol_args(command("vol-wipe", "wipe a volume with zeros (never one a VM uses)", _vol_wipe))
    sub = command("net-list", "list networks (standard vSwitches)", _net_list)
    sub.add_argument("--all", action="store_true", help="list inactive & active networks (all are active)")
    sub.add_argument("--inactive", action="store_true", help="list inactive networks (there are none)")
    command("net-info", "network information", _net_info).add_argument("network", metavar="NETWORK")
    command("net-dumpxml", "network information in XML", _net_dumpxml).add_argument(
        "network", metavar="NETWORK"
    )
    command("net-define", "define a network from an XML file", _net_define).add_argument(
        "file", metavar="FILE", help="network XML ('-' for stdin)"
    )
    command("net-undefine", "undefine a network (never one in use)", _net_undefine).add_argument(
        "network", metavar="NETWORK"
    )
    sub = command("iface-list", "list physical host interfaces", _iface_list)
    sub.add_argument("--all", action="store_true", help="list inactive & active interfaces (all are active)")
    sub.add_argument("--inactive", action="store_true", help="list inactive interfaces (there are none)")
    sub = command("iface-dumpxml", "interface information in XML", _iface_dumpxml)
    sub.add_argument("interface", metavar="INTERFACE", help="name or MAC address")
    sub.add_argument("--inactive", action="store_true", help="show inactive defined XML")
