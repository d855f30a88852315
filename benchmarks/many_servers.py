"""``esxnb.inventory([...])`` over several simulators: one after another vs concurrently.

    python benchmarks/many_servers.py [--servers 4] [--vms-per-pool 1000] [--delay 0.1] [--repeat 2]

Each server is a vpx simulator (a cluster of 3 hosts plus a standalone host, so
2 x ``--vms-per-pool`` VMs). Every run connects, logs in, reads ``domains()`` and logs out
for each server. It is measured twice: on plain loopback, where the two cores of this
machine bound the gain, and with ``--delay`` seconds added by the simulators to every SOAP
call, which stands for the network round trip to a remote vCenter.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from esxnb import inventory
from esxnb.simulator import Simulator


def measure(
    uris: list[str], auth: tuple[str, str], ca_file: str, workers: int, repeat: int
) -> tuple[float, int]:
    times = []
    rows = 0
    for _ in range(repeat):
        start = time.perf_counter()
        frame = inventory(uris, auth=auth, ca_file=ca_file, max_workers=workers)
        times.append(time.perf_counter() - start)
        if frame.attrs["errors"]:
            raise SystemExit(f"a server failed: {frame.attrs['errors']}")
        rows = len(frame)
    return statistics.median(times), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--vms-per-pool", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds added to every SOAP call (0: skip)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)

    password = "bench-many-servers"
    with ExitStack() as stack:
        started = time.perf_counter()
        sims = [
            Simulator(
                "vpx", clusters=1, hosts=3, standalone_hosts=1, vms=args.vms_per_pool, password=password
            )
            for _ in range(args.servers)
        ]
        for sim in sims:
            stack.callback(sim.stop)
        with ThreadPoolExecutor(len(sims)) as pool:  # start them side by side
            list(pool.map(lambda sim: sim.start(), sims))
        print(
            f"{args.servers} simulators with {sims[0].total_vms()} VMs each, "
            f"ready in {time.perf_counter() - started:.1f} s"
        )
        uris = [f"vpx://{sim.host}:{sim.port}/" for sim in sims]
        # one CA bundle trusting every simulator, so TLS is verified as in real use
        bundle = stack.enter_context(tempfile.NamedTemporaryFile("w", suffix=".pem"))
        bundle.write("".join(Path(sim.ca_file).read_text() for sim in sims))
        bundle.flush()
        auth = (sims[0].username, password)
        inventory(uris[:1], auth=auth, ca_file=bundle.name)  # warm-up: imports, first TLS handshakes

        settings = [("loopback", 0.0)]
        if args.delay > 0:
            settings.append((f"{args.delay * 1000:.0f} ms per SOAP call", args.delay))
        for label, delay in settings:
            for sim in sims:
                sim.set_delay("*", delay)
            sequential, rows = measure(uris, auth, bundle.name, 1, args.repeat)
            concurrent, rows_c = measure(uris, auth, bundle.name, len(uris), args.repeat)
            assert rows == rows_c
            print(
                f"{label}: {rows} domains from {len(uris)} servers -- one after another {sequential:.2f} s, "
                f"concurrently {concurrent:.2f} s: {sequential / concurrent:.1f}x speed-up"
            )
        for sim in sims:
            sim.clear_faults()
    return 0


if __name__ == "__main__":
    sys.exit(main())
