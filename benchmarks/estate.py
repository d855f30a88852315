"""How fast is ``Connection.estate()``? Compared, in one run, with the server's own time to
produce and send the same bulk answer, bare pyvmomi decoding of the same specs, and reading the
same properties VM by VM.

    python benchmarks/estate.py [--vms 10000] [--sample 30] [--repeat 3] [--strict]

Starts the demo estate (``Simulator(estate="demo", vms=...)``) and prints seconds, round trips,
ratios and peak memory. Targets (issue 13): the PropertyCollector tables of ``estate()`` in at
most 3x the raw server time, at least 5x faster than bare pyvmomi ``RetrievePropertiesEx``
decoding, at least 100x faster than the VM-by-VM way. ``--strict`` exits with status 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


sys.path.insert(0, str(Path(__file__).resolve().parent))
from inventory import bare_pyvmomi, raw_server, timed, vm_by_vm  # noqa: E402  (the shared measuring helpers)

from esxnb.connection import connect  # noqa: E402
from esxnb.estate import DEFAULT_TABLES, TABLES  # noqa: E402
from esxnb.simulator import Simulator  # noqa: E402
from esxnb._tables import filter_specs  # noqa: E402


def per_vm(vm: Any) -> int:
    """The properties the estate's VM tables read, the way a script reads them: attribute
    access per VM (each data object fetched once and reused: the cheapest per-VM form)."""
    config, runtime, guest, summary = vm.config, vm.runtime, vm.guest, vm.summary
    layout, snapshot, values = vm.layoutEx, vm.snapshot, vm.customValue
    devices = config.hardware.device
    host = runtime.host.name if runtime.host else None
    return (
        len(devices)
        + len(guest.disk or [])
        + len(values)
        + bool(layout)
        + bool(snapshot)
        + bool(summary)
        + bool(host)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vms", type=int, default=10_000, help="VMs in the demo estate")
    parser.add_argument("--sample", type=int, default=30, help="VMs read one by one, then extrapolated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best and median shown)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with Simulator(estate="demo", vms=args.vms) as sim:
        print(f"demo estate: {args.vms} VMs, ready in {time.perf_counter() - started:.1f} s")
        with connect(
            f"vpx://{sim.host}:{sim.port}/", auth=(sim.username, sim.password), ca_file=sim.ca_file
        ) as conn:
            names = list(DEFAULT_TABLES)
            conn.estate(names)  # creates the views
            best, median, estate = timed(lambda: conn.estate(names), args.repeat)
            full_best, _, full = timed(lambda: conn.estate(), 1)
            tracemalloc.start()
            conn.estate(names)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

            specs = filter_specs(conn, [TABLES[n] for n in names])
            raw_best, raw_median, (raw_bytes, raw_trips) = timed(lambda: raw_server(conn, specs), args.repeat)
            bare_best, bare_median, (objects, bare_trips) = timed(lambda: bare_pyvmomi(conn, specs), 1)

            one, naive, every_vm = vm_by_vm(conn, per_vm, args.sample)

    rows = sum(len(frame) for frame in estate.values())
    print()
    print(
        f"estate({len(names)} tables): {rows} rows in {best:.3f} s (median {median:.3f} s), "
        f"{estate['vms'].attrs['round_trips']} round trip(s), peak Python memory {peak / 2**20:.0f} MiB"
    )
    print(f"estate() with datastore_files: {sum(len(f) for f in full.values())} rows in {full_best:.3f} s")
    print(
        f"raw server (same requests, bytes read, nothing decoded): {raw_bytes / 1e6:.1f} MB in {raw_best:.3f} s "
        f"(median {raw_median:.3f} s), {raw_trips} round trip(s)"
    )
    print(
        f"bare pyvmomi RetrievePropertiesEx, same specs: {objects} objects in {bare_best:.3f} s, {bare_trips} round trip(s)"
    )
    print(
        f"VM by VM: {one * 1000:.1f} ms per VM over {min(args.sample, len(every_vm))} VMs -> {naive:.1f} s for {len(every_vm)} VMs (extrapolated)"
    )
    vs_raw, vs_bare, vs_naive = best / raw_best, bare_best / best, naive / best
    print()
    print(
        f"estate() vs the raw server time: {vs_raw:.2f}x (target <= 3x)  {'OK' if vs_raw <= 3 else 'MISSED'}"
    )
    print(
        f"estate() vs bare pyvmomi:        {vs_bare:.1f}x faster (target >= 5x)  {'OK' if vs_bare >= 5 else 'MISSED'}"
    )
    print(
        f"estate() vs VM by VM:            {vs_naive:.0f}x faster (target >= 100x) {'OK' if vs_naive >= 100 else 'MISSED'}"
    )
    missed = vs_raw > 3 or vs_bare < 5 or vs_naive < 100
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
