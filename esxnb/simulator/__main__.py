"""``python -m esxnb.simulator``: run a simulator in the foreground.

``add_arguments(parser)`` and ``run(args)`` are reused by ``esxnb sim``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from esxnb.errors import SimulatorError

from ._build import ensure_built
from ._process import TOOLS_STATES, Simulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator options to ``parser``."""
    parser.add_argument(
        "--mode", choices=("vpx", "esx"), default="vpx", help="vCenter (vpx) or ESX host (esx)"
    )
    parser.add_argument("--datacenters", type=int, default=1)
    parser.add_argument("--folders", type=int, default=0)
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--hosts", type=int, default=3, help="hosts per cluster")
    parser.add_argument("--standalone-hosts", type=int, default=1)
    parser.add_argument(
        "--vms",
        type=int,
        help="VMs per host or resource pool (default 2); with --estate demo: in all (default 300)",
    )
    parser.add_argument(
        "--estate",
        choices=("demo",),
        help="demo: a varied, seeded vCenter estate (the topology options do not apply)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="--estate demo: the same seed gives the same estate"
    )
    parser.add_argument("--pools", type=int, default=0)
    parser.add_argument("--datastores", type=int, default=1)
    parser.add_argument("--username", help="default: root (esx), administrator (vpx)")
    parser.add_argument("--password", help="default: random (printed)")
    parser.add_argument("--transport", choices=("https", "http"), default="https")
    parser.add_argument("--listen", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--session-idle-timeout", type=float, help="seconds")
    parser.add_argument(
        "--tools", choices=TOOLS_STATES, default="toolsOk", help="initial tools state of every VM"
    )
    parser.add_argument("--build-only", action="store_true", help="build and cache the launcher, then exit")


def run(args: argparse.Namespace) -> int:
    """Run what ``args`` asks for; returns the exit status."""
    try:
        if args.build_only:
            path = ensure_built(verbose=True)
            print(f"simulator launcher: {path}")
            return 0
        topology = dict(
            datacenters=args.datacenters,
            folders=args.folders,
            clusters=args.clusters,
            hosts=args.hosts,
            standalone_hosts=args.standalone_hosts,
            pools=args.pools,
            datastores=args.datastores,
        )
        sim = Simulator(
            args.mode,
            **topology,
            vms=args.vms,
            estate=args.estate,
            seed=args.seed,
            username=args.username,
            password=args.password,
            transport=args.transport,
            listen=args.listen,
            port=args.port,
            session_idle_timeout=args.session_idle_timeout,
            tools=args.tools,
        )
        stop = threading.Event()
        # Ctrl-C and SIGTERM only set the event, so a signal at any moment
        # still ends in a clean stop().
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return _serve(args, sim, stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    except SimulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace, sim: Simulator, stop: threading.Event) -> int:
    with sim:
        what = f"{args.mode}, demo estate seed {sim.seed}, {sim.total_vms()} VMs" if sim.estate else args.mode
        print(f"vSphere simulator ({what}) running at {sim.url}")
        print(f"  URI:      {sim.uri}")
        print(f"  username: {sim.username}")
        print(f"  password: {sim.password}")
        if sim.ca_file:
            print(f"  CA file:  {sim.ca_file}  (or add no_verify=1 to the URI)")
        print()
        print(f"  export ESXNB_URI='{sim.uri_with(no_verify=1) if sim.ca_file else sim.uri}'")
        print(f"  export ESXNB_USERNAME='{sim.username}' ESXNB_PASSWORD='{sim.password}'")
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            if not sim.running:
                print("the simulator exited", file=sys.stderr)
                return 1
    print("stopped.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m esxnb.simulator", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
