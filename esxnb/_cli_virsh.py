"""virsh's connection and domain commands for ``esxnb``: ``esxnb -c URI list --all`` prints what
``virsh -c URI list --all`` prints (same tables, labels and messages), so runbooks written for
virsh port by changing one word. Each command also answers ``--json``.

Domains are looked up as virsh looks them up: by ID, then UUID, then name.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from . import __version__, errors
from ._cli_common import Reply, info_lines, read_input, records, register_command, vsh_table
from ._vocabulary import SHARES_LEVEL_VALUES

__all__ = ["register", "find_domain_arg", "LIFECYCLE_MESSAGES"]

#: virsh's message after each lifecycle command, by verb.
LIFECYCLE_MESSAGES = {
    "start": "Domain '{}' started",
    "shutdown": "Domain '{}' is being shutdown",
    "reboot": "Domain '{}' is being rebooted",
    "destroy": "Domain '{}' destroyed",
    "suspend": "Domain '{}' suspended",
    "resume": "Domain '{}' resumed",
    "reset": "Domain '{}' was reset",
}
_STATE_FILTERS = {"state_running": "running", "state_paused": "paused", "state_shutoff": "shut off"}


def _row(conn: Any, name: str) -> Any:
    """The domains-table row of the domain virsh would find for ``name`` (ID, UUID, name)."""
    frame = conn.domains()
    if name.isdigit():
        match = frame[frame["id"] == int(name)]
        if len(match):
            return match.iloc[0]
    domain = conn.domain(name)  # a UUID or a name; NotFoundError names the problem
    return frame[frame["moref"] == domain.vm._moId].iloc[0]


def find_domain_arg(conn: Any, name: str) -> Any:
    """The Domain a virsh DOMAIN argument names: an ID, a UUID or a name."""
    if name.isdigit():
        return conn.domain(str(_row(conn, name)["name"]))
    return conn.domain(name)


def _id_text(value: Any) -> str:
    import pandas as pd

    return "-" if value is None or pd.isna(value) else str(int(value))


# -- the connection ----------------------------------------------------------
def _uri(conn: Any, args: argparse.Namespace) -> Reply:
    text = str(conn.uri)
    return Reply(text, {"uri": text})


def _version(conn: Any, args: argparse.Namespace) -> Reply:
    about = conn.session.about
    text = (
        f"Compiled against library: esxnb {__version__}\n"
        f"Using library: esxnb {__version__}\n"
        f"Using API: ESX {about.apiVersion}\n"
        # libvirt's ESX driver calls every server "ESX" (esxConnectGetType)
        f"Running hypervisor: ESX {about.version}\n"
    )
    data = {
        "library": __version__,
        "api": about.apiVersion,
        "hypervisor": about.version,
        "product": about.fullName,
    }
    return Reply(text, data)


def _hostname(conn: Any, args: argparse.Namespace) -> Reply:
    from ._collect import retrieve

    host = conn.require_host("reading the host name")
    paths = ("config.network.dnsConfig.hostName", "config.network.dnsConfig.domainName")
    props = retrieve(conn.content, [host], paths).get(host, {})
    name, domain = (props.get(path) or "" for path in paths)
    if not name:
        raise errors.EsxnbError("the host reports no host name (config.network.dnsConfig.hostName)")
    text = f"{name}.{domain}" if domain else name  # as esxConnectGetHostname joins them
    return Reply(text, {"hostname": text})


# -- domains -------------------------------------------------------------------
def _list(conn: Any, args: argparse.Namespace) -> Reply:
    frame = conn.domains()
    wanted = {word for flag, word in _STATE_FILTERS.items() if getattr(args, flag)}
    if args.inactive:
        wanted.add("shut off")
    if not wanted and not args.all:
        wanted = {"running", "paused"}  # virsh lists active domains unless told otherwise
    if wanted:
        frame = frame[frame["state"].astype(str).isin(wanted)]
    # virsh sorts active domains by ID, then inactive ones by name
    frame = frame.assign(_sort_id=frame["id"].fillna(2**62)).sort_values(["_sort_id", "name"])
    frame = frame.drop(columns="_sort_id")
    columns = ["id", "name", "uuid", "state"]
    if args.name:
        text = "".join(f"{name}\n" for name in frame["name"])
    elif args.uuid:
        text = "".join(f"{uuid}\n" for uuid in frame["uuid"])
    else:
        rows = [(_id_text(r.id), r.name, r.state) for r in frame.itertuples()]
        text = vsh_table(("Id", "Name", "State"), rows)
    return Reply(text, records(frame[columns]))


def _dominfo(conn: Any, args: argparse.Namespace) -> Reply:
    row = _row(conn, args.domain)
    pairs: list[tuple[str, Any]] = [
        ("Id", _id_text(row["id"])),
        ("Name", row["name"]),
        ("UUID", row["uuid"]),
        ("OS Type", "hvm"),
        ("State", row["state"]),
        ("CPU(s)", int(row["vcpus"])),
        ("Max memory", f"{int(row['max_memory_mib']) * 1024} KiB"),
        ("Used memory", f"{int(row['memory_mib']) * 1024} KiB"),
        ("Persistent", "yes"),
    ]
    autostart = row.get("autostart")
    if autostart is not None and str(autostart) != "<NA>":
        pairs.append(("Autostart", "enable" if bool(autostart) else "disable"))
    pairs.append(("Managed save", "no"))
    data = {label.lower().replace(" ", "_").replace("(s)", "s"): value for label, value in pairs}
    return Reply(info_lines(pairs), data)


def _domstate(conn: Any, args: argparse.Namespace) -> Reply:
    row = _row(conn, args.domain)
    return Reply(f"{row['state']}\n", {"state": row["state"]})


def _domuuid(conn: Any, args: argparse.Namespace) -> Reply:
    row = _row(conn, args.domain)
    return Reply(f"{row['uuid']}\n", {"uuid": row["uuid"]})


def _domid(conn: Any, args: argparse.Namespace) -> Reply:
    row = _row(conn, args.domain)
    return Reply(f"{_id_text(row['id'])}\n", {"id": None if _id_text(row["id"]) == "-" else int(row["id"])})


def _domname(conn: Any, args: argparse.Namespace) -> Reply:
    row = _row(conn, args.domain)
    return Reply(f"{row['name']}\n", {"name": row["name"]})


def _dumpxml(conn: Any, args: argparse.Namespace) -> Reply:
    xml = find_domain_arg(conn, args.domain).dumpxml()
    return Reply(xml, {"xml": xml})


def _define(conn: Any, args: argparse.Namespace) -> Reply:
    domain = conn.define(read_input(args.file))
    return Reply(
        f"Domain '{domain.name}' defined from {args.file}\n", {"name": domain.name, "uuid": domain.uuid}
    )


def _undefine(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    domain.undefine()
    return Reply(f"Domain '{domain.name}' has been undefined\n", {"name": domain.name})


def _lifecycle(verb: str) -> Callable[[Any, argparse.Namespace], Reply]:
    def run(conn: Any, args: argparse.Namespace) -> Reply:
        domain = find_domain_arg(conn, args.domain)
        getattr(domain, verb)()
        return Reply(LIFECYCLE_MESSAGES[verb].format(domain.name) + "\n", {"name": domain.name, "done": verb})

    return run


def _schedinfo(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    changes: dict[str, int] = {}
    for item in args.set or []:
        name, sep, value = item.partition("=")
        if not sep or name not in ("reservation", "limit", "shares"):
            raise errors.ValidationError(
                f"--set {item!r}: give reservation=MHZ, limit=MHZ or shares=N|low|normal|high"
            )
        if name == "shares" and value in SHARES_LEVEL_VALUES:
            changes[name] = SHARES_LEVEL_VALUES[value]
            continue
        try:
            changes[name] = int(value)
        except ValueError:
            raise errors.ValidationError(f"--set {item!r}: {value!r} is not a whole number") from None
    if changes:
        domain.set_scheduler(**changes)
    settings = domain.scheduler()
    # virsh shows what it set when it set something, else every parameter
    shown = [name for name in ("reservation", "limit", "shares") if not changes or name in changes]
    text = f"{'Scheduler':<15}: allocation\n" + "".join(f"{name:<15}: {settings[name]}\n" for name in shown)
    return Reply(text, {name: settings[name] for name in ("reservation", "limit", "shares")})


def _kib_to_mib(text: str, what: str) -> int:
    """A virsh size (KiB unless it ends in k, M, G or T) in whole MiB, rounded up as libvirt does."""
    from ._libvirt_xml import parse_size

    size = parse_size(text, None, what, default_unit="KiB")
    return -(-size // (1024 * 1024))


def _setmem(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    mib = _kib_to_mib(args.size, "the memory size")
    domain.set_memory(mib)
    return Reply("", {"name": domain.name, "memory_mib": mib})


def _setmaxmem(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    mib = _kib_to_mib(args.size, "the maximum memory size")
    domain.set_max_memory(mib)
    return Reply("", {"name": domain.name, "max_memory_mib": mib})


def _setvcpus(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    domain.set_vcpus(args.count)
    return Reply("", {"name": domain.name, "vcpus": args.count})


def _autostart(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    domain.set_autostart(not args.disable)
    word = "unmarked" if args.disable else "marked"
    return Reply(
        f"Domain '{domain.name}' {word} as autostarted\n",
        {"name": domain.name, "autostart": not args.disable},
    )


def _screenshot(conn: Any, args: argparse.Namespace) -> Reply:
    domain = find_domain_arg(conn, args.domain)
    shot = domain.screenshot()
    # virsh's default name: the domain's and the time's
    path = args.file or f"{domain.name}-{shot.taken_at.astimezone().strftime('%Y-%m-%d-%H:%M:%S')}.png"
    shot.save(path)
    return Reply(
        f"Screenshot saved to {path}, with type of image/png\n",
        {"file": path, "width": shot.width, "height": shot.height},
        blank_line=False,
    )


def _nodeinfo(conn: Any, args: argparse.Namespace) -> Reply:
    node = conn.node_info()
    pairs = [
        ("CPU model:", node.cpu_model),
        ("CPU(s):", node.cpus),
        ("CPU frequency:", f"{node.mhz} MHz"),
        ("CPU socket(s):", node.sockets),
        ("Core(s) per socket:", node.cores_per_socket),
        ("Thread(s) per core:", node.threads_per_core),
        ("NUMA cell(s):", node.numa_nodes),
        ("Memory size:", f"{node.memory_kib} KiB"),
    ]
    return Reply("".join(f"{label:<20} {value}\n" for label, value in pairs), node.as_dict())


def register(commands: Any) -> None:
    """Add virsh's connection and domain commands to the ``esxnb`` parser."""

    def command(name: str, help_text: str, run: Callable[[Any, argparse.Namespace], Reply]) -> Any:
        return register_command(commands, name, help_text, run)

    def with_domain(name: str, help_text: str, run: Callable[[Any, argparse.Namespace], Reply]) -> Any:
        sub = command(name, help_text, run)
        sub.add_argument("domain", metavar="DOMAIN", help="domain ID, UUID or name")
        return sub

    command("uri", "print the URI of the connection", _uri)
    command("version", "show the library and hypervisor versions", _version)
    command("hostname", "print the host's name", _hostname)
    sub = command("list", "list domains (running and paused unless --all)", _list)
    sub.add_argument("--all", action="store_true", help="list inactive & active domains")
    sub.add_argument("--inactive", action="store_true", help="list inactive domains")
    sub.add_argument("--state-running", action="store_true", help="list running domains")
    sub.add_argument("--state-paused", action="store_true", help="list paused (suspended) domains")
    sub.add_argument("--state-shutoff", action="store_true", help="list shut off domains")
    sub.add_argument("--name", action="store_true", help="list domain names only")
    sub.add_argument("--uuid", action="store_true", help="list domain UUIDs only")
    with_domain("dominfo", "domain information", _dominfo)
    with_domain("domstate", "domain state", _domstate)
    with_domain("domuuid", "convert a domain name or ID to its UUID", _domuuid)
    with_domain("domid", "convert a domain name or UUID to its ID", _domid)
    with_domain("domname", "convert a domain ID or UUID to its name", _domname)
    with_domain("dumpxml", "domain information in XML", _dumpxml)
    command("define", "define (but don't start) a domain from an XML file", _define).add_argument(
        "file", metavar="FILE", help="domain XML ('-' for stdin)"
    )
    with_domain("undefine", "undefine a domain (unregister it; its files stay)", _undefine)
    for verb in LIFECYCLE_MESSAGES:
        with_domain(verb, f"{verb} a domain", _lifecycle(verb))
    command("nodeinfo", "node information", _nodeinfo)
    sub = with_domain("setmem", "change the memory the domain may use (its limit)", _setmem)
    sub.add_argument("size", metavar="SIZE", help="KiB, or with a unit: 512M, 2G")
    sub = with_domain("setmaxmem", "change the maximum memory (the domain shut off)", _setmaxmem)
    sub.add_argument("size", metavar="SIZE", help="KiB, or with a unit: 512M, 2G; a multiple of 4 MiB")
    sub = with_domain("setvcpus", "change the number of vCPUs (1 or even)", _setvcpus)
    sub.add_argument("count", metavar="COUNT", type=int)
    sub = with_domain("autostart", "start the domain with its host", _autostart)
    sub.add_argument("--disable", action="store_true", help="do not start it with its host")
    sub = with_domain("screenshot", "take a screenshot of the domain's console (PNG)", _screenshot)
    sub.add_argument("file", metavar="FILE", nargs="?", help="where to save it (default DOMAIN-TIME.png)")
    sub = with_domain("schedinfo", "show or set scheduler parameters", _schedinfo)
    sub.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="reservation, limit or shares (repeatable)"
    )
