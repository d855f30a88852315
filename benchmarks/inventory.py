"""How fast is ``Connection.domains()``? Compared, in one run, against the same data fetched
with a bare pyvmomi RetrievePropertiesEx and the naive per-VM attribute way.

    python benchmarks/inventory.py [--vms-per-pool 5000] [--sample 50] [--repeat 3] [--strict]

Starts a vpx simulator (one cluster of 3 hosts plus a standalone host; govmomi puts
``--vms-per-pool`` VMs in the cluster's pool and as many on the standalone host, so 10,000 by
default) and prints seconds, round trips and ratios. Targets: ``domains()`` at least 2x faster
than the bare pyvmomi call, at least 50x faster than the naive way (issue 4), and at most 1.5x
the raw server time, the same requests POSTed and read without decoding (issue 18).
``--strict`` exits with status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from pyVmomi import vim, vmodl

from esxnb.connection import connect
from esxnb._tables._read import PAGE_SIZE  # the page size esxnb asks for, so that all sides do the same work
from esxnb.frames import domain_specs
from esxnb.simulator import Simulator

PC = vmodl.query.PropertyCollector


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(best, median) seconds of ``repeat`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def bare_pyvmomi(conn: Any, specs: list[Any]) -> tuple[int, int]:
    """The same filter specs through pyvmomi's own decoder; (objects, round trips)."""
    collector = conn.content.propertyCollector
    count = trips = 0
    result = collector.RetrievePropertiesEx(specs, PC.RetrieveOptions(maxObjects=PAGE_SIZE))
    trips += 1
    while result is not None:
        count += len(result.objects)
        if not result.token:
            break
        result = collector.ContinueRetrievePropertiesEx(result.token)
        trips += 1
    return count, trips


_TOKEN = re.compile(rb"<token>([^<]+)</token>")


def raw_server(conn: Any, specs: list[Any]) -> tuple[int, int]:
    """The server's own time: the same requests POSTed over the session's connection and every
    answer byte read, nothing decoded; (bytes, round trips)."""
    soap = getattr(conn.session.stub, "soapStub", conn.session.stub)
    collector = conn.content.propertyCollector
    headers = {"Cookie": soap.cookie, "SOAPAction": soap.versionId, "Content-Type": "text/xml; charset=UTF-8"}
    method, args = "RetrievePropertiesEx", (specs, PC.RetrieveOptions(maxObjects=PAGE_SIZE))
    total = trips = 0
    while True:
        body = soap.SerializeRequest(collector, collector._GetMethodInfo(method), args)
        connection = soap.GetConnection()
        connection.request("POST", soap.path, body, headers)
        answer = connection.getresponse().read()
        soap.ReturnConnection(connection)
        total, trips = total + len(answer), trips + 1
        token = _TOKEN.search(answer[:4096])  # servers send the token first
        if token is None:
            return total, trips
        method, args = "ContinueRetrievePropertiesEx", (token.group(1).decode(),)


def vm_by_vm(conn: Any, read: Callable[[Any], Any], sample: int) -> tuple[float, float, list[Any]]:
    """The naive way, timed: list every VM (one call: a script has to start somewhere), ``read``
    the first ``sample`` of them one by one; (seconds per VM, extrapolated total, the VMs)."""
    content = conn.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        start = time.perf_counter()
        every_vm = list(view.view)
        listing = time.perf_counter() - start
    finally:
        view.DestroyView()
    start = time.perf_counter()
    for vm in every_vm[:sample]:
        read(vm)
    per_vm = (time.perf_counter() - start) / max(1, min(sample, len(every_vm)))
    return per_vm, listing + per_vm * len(every_vm), every_vm


def naive_row(vm: Any) -> dict[str, Any]:
    """One domains() row the way a pyvmomi script does it: attribute access per VM.

    Careful naive code: each data object (config, runtime, guest) is fetched once per VM and
    reused, so this is the cheapest form of the per-VM way, not the worst.
    """
    config = vm.config
    runtime = vm.runtime
    guest = vm.guest
    host = runtime.host
    compute = host.parent if host is not None else None
    parent = vm.parent
    datacenter = parent
    while datacenter is not None and not isinstance(datacenter, vim.Datacenter):
        datacenter = datacenter.parent
    pool = vm.resourcePool
    limit = config.memoryAllocation.limit
    return {
        "name": vm.name,
        "uuid": config.uuid,
        "state": runtime.powerState,
        "max_memory_mib": config.hardware.memoryMB,
        "memory_mib": limit if limit is not None and limit >= 0 else config.hardware.memoryMB,
        "vcpus": config.hardware.numCPU,
        "guest_os": config.guestFullName,
        "guest_id": config.guestId,
        "vmx_path": config.files.vmPathName,
        "host": host.name if host is not None else None,
        "compute_resource": compute.name if compute is not None else None,
        "cluster": compute.name if isinstance(compute, vim.ClusterComputeResource) else None,
        "datacenter": datacenter.name if datacenter is not None else None,
        "folder": parent.name if parent is not None else None,
        "resource_pool": pool.name if pool is not None else None,
        "tools_status": guest.toolsStatus,
        "tools_running": guest.toolsRunningStatus,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--vms-per-pool", type=int, default=5000, help="govmomi's per-pool VM count (x2 = total)"
    )
    parser.add_argument("--sample", type=int, default=50, help="VMs read the naive way, then extrapolated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best and median shown)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with Simulator("vpx", clusters=1, hosts=3, standalone_hosts=1, vms=args.vms_per_pool) as sim:
        print(f"simulator: {sim.total_vms()} VMs, ready in {time.perf_counter() - started:.1f} s ({sim.url})")
        auth = (sim.username, sim.password)
        # The whole vCenter (no path): every host, so all the VMs.
        with connect(f"vpx://{sim.host}:{sim.port}/", auth=auth, ca_file=sim.ca_file) as conn:
            start = time.perf_counter()
            first = conn.domains()
            cold = time.perf_counter() - start
            cold_trips = first.attrs["round_trips"]
            dom_best, dom_median, frame = timed(conn.domains, args.repeat)
            sched_best, sched_median, sched = timed(conn.scheduler, args.repeat)
            vms = len(frame)

            specs = domain_specs(conn)
            bare_best, bare_median, (objects, bare_trips) = timed(
                lambda: bare_pyvmomi(conn, specs), args.repeat
            )
            raw_best, raw_median, (raw_bytes, raw_trips) = timed(lambda: raw_server(conn, specs), args.repeat)

            per_vm, naive_total, every_vm = vm_by_vm(conn, naive_row, args.sample)

    print()
    print(
        f"domains():   {vms} rows in {dom_best:.3f} s (median {dom_median:.3f} s), "
        f"{frame.attrs['round_trips']} round trip(s); first call {cold:.3f} s, {cold_trips} round trips "
        f"(creates the two container views)"
    )
    print(
        f"scheduler(): {len(sched)} rows in {sched_best:.3f} s (median {sched_median:.3f} s), "
        f"{sched.attrs['round_trips']} round trip(s)"
    )
    print(
        f"bare pyvmomi RetrievePropertiesEx, same filter specs: {objects} objects in {bare_best:.3f} s "
        f"(median {bare_median:.3f} s), {bare_trips} round trip(s)"
    )
    print(
        f"naive per-VM attribute access: {per_vm * 1000:.1f} ms per VM over {min(args.sample, len(every_vm))} VMs "
        f"-> {naive_total:.1f} s for {len(every_vm)} VMs (extrapolated)"
    )
    print(
        f"raw server (same requests, bytes read, nothing decoded): {raw_bytes / 1e6:.1f} MB in {raw_best:.3f} s "
        f"(median {raw_median:.3f} s), {raw_trips} round trip(s)"
    )
    vs_raw, vs_raw_median = dom_best / raw_best, dom_median / raw_median
    vs_bare = bare_best / dom_best
    vs_naive = naive_total / dom_best
    print()
    print(
        f"domains() vs bare pyvmomi: {vs_bare:.1f}x faster (target >= 2x)  {'OK' if vs_bare >= 2 else 'MISSED'}"
    )
    print(
        f"domains() vs naive:        {vs_naive:.0f}x faster (target >= 50x) {'OK' if vs_naive >= 50 else 'MISSED'}"
    )
    print(
        f"domains() vs the raw server time: {vs_raw:.2f}x (median {vs_raw_median:.2f}x; target <= 1.5x) "
        f"{'OK' if vs_raw <= 1.5 else 'MISSED'}"
    )
    missed = vs_bare < 2 or vs_naive < 50 or vs_raw > 1.5
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
