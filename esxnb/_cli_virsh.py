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

__all__ = ["register", "LIFECYCLE_MESSAGES"]

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


def _domain(conn: Any, name: str) -> Any:
    if name.isdigit():
        return conn.domain(str(_row(conn, name)["name"]))
    return conn.domain(name)


def _id_text(value: Any) -> str:
    return "-" if value is None or value != value or str(value) == "<NA>" else str(int(value))


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
    xml = _domain(conn, args.domain).dumpxml()
    return Reply(xml, {"xml": xml})


def _define(conn: Any, args: argparse.Namespace) -> Reply:
    domain = conn.define(read_input(args.file))
    return Reply(
        f"Domain '{domain.name}' defined from {args.file}\n", {"name": domain.name, "uuid": domain.uuid}
    )


def _undefine(conn: Any, args: argparse.Namespace) -> Reply:
    domain = _domain(conn, args.domain)
    domain.undefine()
    return Reply(f"Domain '{domain.name}' has been undefined\n", {"name": domain.name})


def _lifecycle(verb: str) -> Callable[[Any, argparse.Namespace], Reply]:
    def run(conn: Any, args: argparse.Namespace) -> Reply:
        domain = _domain(conn, args.domain)
        getattr(domain, verb)()
        return Reply(LIFECYCLE_MESSAGES[verb].format(domain.name) + "\n", {"name": domain.name, "done": verb})

    return run


def _schedinfo(conn: Any, args: argparse.Namespace) -> Reply:
    domain = _domain(conn, args.domain)
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
    sub = with_domain("schedinfo", "show or set scheduler parameters", _schedinfo)
    sub.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="reservation, limit or shares (repeatable)"
    )
