"""The ``esxnb`` command: a thin shell over the package for runbooks and training rooms.

Sub-commands: ``sim``, ``lab``, ``domains``, ``migrate``, and virsh's own verbs with virsh's
output (``esxnb -c URI list --all`` as ``virsh -c URI list --all``): ``uri``, ``version``,
``hostname``, ``list``, ``dominfo``, ``domstate``, ``dumpxml``, ``define``, ``undefine``, the
lifecycle verbs, ``schedinfo``, ``domxml-from-native``, ``domxml-to-native`` and the ``pool-*``,
``vol-*``, ``net-*`` and ``iface-*`` commands. Errors print as ``error: ...`` on stderr with exit
status 1, like virsh.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ._cli_common import add_connection_options, connect_to, read_input
from .errors import EsxnbError

__all__ = ["main", "build_parser"]

FORMAT = "vmware-vmx"


def _datastores(pairs: Sequence[str]) -> dict[str, str] | None:
    from .datastore import parse_datastore_mapping

    return parse_datastore_mapping(pairs, source="--datastore") or None


def _check_format(fmt: str) -> None:
    if fmt != FORMAT:
        raise EsxnbError(f"unsupported native format {fmt!r} (only {FORMAT!r} is supported)")


def _convert(
    args: argparse.Namespace,
    online: Callable[[Any, bytes, dict], str],
    offline: Callable[[bytes, dict], str],
) -> None:
    """Read FILE and print its conversion: through the connection with -c URI, else offline."""
    _check_format(args.format)
    data = read_input(args.file)
    options = {"datastores": _datastores(args.datastore)}
    if args.connect:
        with connect_to(args.connect, args.ca_file) as conn:
            text = online(conn, data, options)
    else:
        text = offline(data, options)
    print(text)  # virsh ends its output with an empty line


def _from_native(args: argparse.Namespace) -> None:
    from .vmx import domxml_from_native

    _convert(
        args,
        # as virsh: no <vmware:datacenterpath> unless asked for (conn.domxml_from_native adds it)
        online=lambda conn, data, opts: conn.domxml_from_native(
            data, vmx_path=args.vmx_path, datacenter_path=args.datacenter_path, **opts
        ),
        offline=lambda data, opts: domxml_from_native(
            data, vmx_path=args.vmx_path, datacenter_path=args.datacenter_path, **opts
        ),
    )


def _to_native(args: argparse.Namespace) -> None:
    from .vmx import domxml_to_native

    # online, the server's newest virtual hardware version unless one is asked for; offline, libvirt's 4
    given = {} if args.virtual_hw_version is None else {"virtual_hw_version": args.virtual_hw_version}
    _convert(
        args,
        online=lambda conn, data, opts: conn.domxml_to_native(data, **given, **opts),
        offline=lambda data, opts: domxml_to_native(
            data, virtual_hw_version=args.virtual_hw_version or 4, **opts
        ),
    )


def _domains(args: argparse.Namespace) -> None:
    with connect_to(args.connect, args.ca_file) as conn:
        frame = conn.scheduler() if args.scheduler else conn.domains()
        print(frame.to_string(index=False) if len(frame) else "(no domains)")


def _migration_ends(args: argparse.Namespace) -> tuple[str, str]:
    """(source URI, destination) from ``migrate DOMAIN SRC DST`` or virsh's ``-c SRC migrate DOMAIN DST``."""
    if len(args.uris) == 2:
        return args.uris[0], args.uris[1]
    if len(args.uris) == 1 and args.global_connect:
        return args.global_connect, args.uris[0]
    raise EsxnbError(
        "migrate needs the source and the destination: migrate DOMAIN SRC_URI DST, or -c SRC_URI migrate DOMAIN DST"
    )


def _migrate(args: argparse.Namespace) -> None:
    from .commands import migrate_command

    def progress(percent: int, message: str) -> None:
        print(f"\r{percent:3d}% {message}", end="", file=sys.stderr, flush=True)

    source, destination = _migration_ends(args)
    result = migrate_command(args.domain, source, destination, ca_file=args.ca_file, progress=progress)
    print(file=sys.stderr)
    print(
        f"Domain {result.domain} migrated from {result.source_host} to {result.destination_host} in {result.duration_s:.1f} s"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esxnb", description="Manage VMware ESX/ESXi, GSX and vCenter like libvirt's ESX driver."
    )
    # virsh's form, ``esxnb -c URI VERB ...``: the URI may come before the verb as well as after it
    parser.add_argument(
        "-c", "--connect", dest="global_connect", metavar="URI", help="esx://, gsx:// or vpx:// URI"
    )
    parser.add_argument(
        "--ca-file", dest="global_ca_file", help="CA bundle to verify the server's certificate with"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub = commands.add_parser("domxml-from-native", help="convert a VMX file to libvirt domain XML")
    sub.add_argument("format", metavar="FORMAT", help=FORMAT)
    sub.add_argument("file", metavar="FILE", help="VMX file ('-' for stdin)")
    sub.add_argument("--vmx-path", help="the VMX file's own datastore path, e.g. '[datastore1] vm/vm.vmx'")
    sub.add_argument("--datacenter-path", help="emit <vmware:datacenterpath>")
    sub.add_argument(
        "--datastore", action="append", default=[], metavar="VOLUME=NAME", help="datastore name for a volume"
    )
    add_connection_options(sub, required=False)
    sub.set_defaults(run=_from_native)

    sub = commands.add_parser("domxml-to-native", help="convert libvirt domain XML to a VMX file")
    sub.add_argument("format", metavar="FORMAT", help=FORMAT)
    sub.add_argument("file", metavar="FILE", help="domain XML file ('-' for stdin)")
    sub.add_argument(
        "--virtual-hw-version", type=int, help="virtualHW.version (default 4 offline, the server's online)"
    )
    sub.add_argument(
        "--datastore", action="append", default=[], metavar="VOLUME=NAME", help="datastore name for a volume"
    )
    add_connection_options(sub, required=False)
    sub.set_defaults(run=_to_native)

    sub = commands.add_parser("domains", help="list domains (or their scheduler settings)")
    sub.add_argument("--scheduler", action="store_true", help="show reservation, limit and shares")
    add_connection_options(sub, required=False)
    sub.set_defaults(run=_domains)

    sub = commands.add_parser("migrate", help="migrate a domain through vCenter")
    sub.add_argument("domain", metavar="DOMAIN", help="name or UUID")
    sub.add_argument(
        "uris",
        nargs="+",
        metavar="[SRC_URI] DST",
        help="the source URI (or -c URI, as virsh takes it) and the destination: a URI, "
        "or a host name or vpx path in the source's vCenter",
    )
    sub.add_argument(
        "--live", action="store_true", help="accepted for virsh's sake: vCenter moves a running domain live"
    )
    sub.add_argument("--ca-file", help="CA bundle to verify the servers' certificates with")
    sub.set_defaults(run=_migrate)

    from . import lab
    from ._cli_estate import register as register_estate
    from ._cli_storage import register as register_storage
    from ._cli_snapshots import register as register_snapshots
    from ._cli_virsh import register as register_virsh
    from .simulator import __main__ as sim_main

    register_virsh(commands)  # uri, version, hostname, list, dominfo, ..., schedinfo
    register_snapshots(commands)  # snapshot-*
    register_storage(commands)  # pool-, vol-, net-, iface- commands
    register_estate(commands)  # estate, health

    sub = commands.add_parser("sim", help="run a local vSphere simulator in the foreground")
    sim_main.add_arguments(sub)
    sub.set_defaults(run=sim_main.run)

    sub = commands.add_parser(
        "lab", help="start JupyterLab on the example notebooks (with a simulator unless ESXNB_URI is set)"
    )
    lab.add_arguments(sub)
    sub.set_defaults(run=lab.run)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line, with a URI given before the verb applying to it."""
    args = build_parser().parse_args(argv)
    for name in ("connect", "ca_file"):
        given = getattr(args, f"global_{name}")
        if given is not None and getattr(args, name, None) is None:
            setattr(args, name, given)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = args.run(args)
    except EsxnbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
