"""``esxnb`` sub-commands for storage pools, volumes, networks and interfaces, in virsh's words
and with virsh's output (its tables, ``vol-info``/``pool-info`` lines and messages, and the
empty line virsh prints after each command)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from ._cli_common import connect_to, read_input
from .errors import EsxnbError, NotFoundError

__all__ = ["register", "table", "pretty_capacity"]

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def pretty_capacity(value: int) -> str:
    """A size as virsh's vshPrettyCapacity and ``%.2lf %s`` print it."""
    if value < 1024:
        return f"{float(value):.2f} B"
    amount = float(value)
    for unit in _UNITS:
        amount /= 1024
        if amount < 1024 or unit == "EiB":
            return f"{amount:.2f} {unit}"
    raise AssertionError("unreachable")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table as virsh's vshTable prints it: ' cell' padded to the widest cell plus two
    spaces, a dash line as wide as all columns plus three each."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        out = ""
        for i, cell in enumerate(cells):
            out += f" {cell}"
            if i < len(cells) - 1:
                out += " " * (widths[i] - len(str(cell)) + 2)
        return out + "\n"

    return line(header) + "-" * sum(w + 3 for w in widths) + "\n" + "".join(line(r) for r in rows)


def _info_lines(pairs: Sequence[tuple[str, Any]]) -> str:
    return "".join(f"{label + ':':<15} {value}\n" for label, value in pairs)


def _pool_list(conn: Any, args: argparse.Namespace) -> str:
    frame = conn.pools()
    if not args.details:
        rows = [(r.name, "active", "yes") for r in frame.itertuples()]
        return table(("Name", "State", "Autostart"), rows)
    rows = []
    for r in frame.itertuples():
        sizes = (
            [pretty_capacity(int(v)) for v in (r.capacity, r.allocation, r.available)]
            if r.state == "running"
            else ["-", "-", "-"]
        )
        rows.append((r.name, r.state, "yes", "yes", *sizes))
    return table(("Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"), rows)


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
    return _info_lines(pairs)


def _pool_refresh(conn: Any, args: argparse.Namespace) -> str:
    conn.pool(args.pool).refresh()
    return f"Pool {args.pool} refreshed\n"


def _vol_list(conn: Any, args: argparse.Namespace) -> str:
    frame = conn.pool(args.pool).volumes()
    if not args.details:
        return table(("Name", "Path"), [(r.name, r.path) for r in frame.itertuples()])
    rows = [
        (r.name, r.path, "file", pretty_capacity(int(r.capacity)), pretty_capacity(int(r.allocation)))
        for r in frame.itertuples()
    ]
    return table(("Name", "Path", "Type", "Capacity", "Allocation"), rows)


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
    return _info_lines(pairs)


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


def _net_list(conn: Any, args: argparse.Namespace) -> str:
    if args.inactive:
        rows: list[tuple[str, ...]] = []  # ESX networks are always active
    else:
        rows = [(name, "active", "yes", "yes") for name in conn.networks()["name"]]
    return table(("Name", "State", "Autostart", "Persistent"), rows)


def _net_info(conn: Any, args: argparse.Namespace) -> str:
    info = conn.network(args.network).info()
    return _info_lines(
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


def _iface_list(conn: Any, args: argparse.Namespace) -> str:
    if args.inactive:
        rows: list[tuple[str, ...]] = []  # ESX interfaces are always active
    else:
        rows = [(r.name, "active", r.mac) for r in conn.interfaces().itertuples()]
    return table(("Name", "State", "MAC Address"), rows)


def _iface_dumpxml(conn: Any, args: argparse.Namespace) -> str:
    return conn.interface(args.interface).xml(inactive=args.inactive)


def register(commands: Any, with_connection: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    """Add the pool-, vol-, net- and iface- commands to the ``esxnb`` parser."""

    def command(
        name: str, help_text: str, run: Callable[[Any, argparse.Namespace], str]
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        with_connection(sub, True)
        sub.set_defaults(run=_runner(run))
        return sub

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


def _runner(run: Callable[[Any, argparse.Namespace], str]) -> Callable[[argparse.Namespace], None]:
    def go(args: argparse.Namespace) -> None:
        with connect_to(args.connect, args.ca_file) as conn:
            text = run(conn, args)
        print(text)  # virsh ends every command's output with an empty line

    return go
