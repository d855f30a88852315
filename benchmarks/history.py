"""The time dimension, measured: events read per second, ``perf()`` for many VMs, live-table
latency; each next to the bare-pyVmomi way in the same run.

    python benchmarks/history.py [--vms 1000] [--events 5000] [--samples 180]

Starts the demo estate, makes ``--events`` power events, then prints: events per second through
``conn.events()`` and through a bare pyVmomi collector loop; ``perf()`` for every VM x 3
counters x ``--samples`` samples (calls and seconds) against one bare ``QueryPerf`` per VM; and
how long a power-off takes to reach a ``LiveTable`` against polling ``domains()``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from pyVmomi import vim

from esxnb.connection import connect
from esxnb.simulator import Simulator
from esxnb.tasks import wait_for_task

COUNTERS = ["cpu.usage.average", "mem.consumed.average", "net.usage.average"]


def bare_events(conn: Any) -> int:
    manager = conn.content.eventManager
    spec = vim.event.EventFilterSpec(
        entity=vim.event.EventFilterSpec.ByEntity(entity=conn.content.rootFolder, recursion="all")
    )
    collector = manager.CreateCollectorForEvents(filter=spec)
    count = 0
    try:
        while True:
            page = collector.ReadNextEvents(maxCount=1000)
            count += len(page)
            if len(page) < 1000:
                return count
    finally:
        collector.DestroyCollector()


def bare_perf(conn: Any, vms: list[Any], samples: int) -> int:
    keys = {
        f"{c.groupInfo.key}.{c.nameInfo.key}.{c.rollupType}": c.key
        for c in conn.content.perfManager.perfCounter
    }
    ids = [vim.PerformanceManager.MetricId(counterId=keys[n], instance="") for n in COUNTERS]
    values = 0
    for vm in vms:  # the way most scripts do it: one call per VM
        spec = vim.PerformanceManager.QuerySpec(entity=vm, metricId=ids, intervalId=20, maxSample=samples)
        for metric in conn.content.perfManager.QueryPerf(querySpec=[spec]) or []:
            values += sum(len(s.value) for s in metric.value)
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=180)
    args = parser.parse_args(argv)
    with Simulator(estate="demo", vms=args.vms) as sim:
        with connect(
            f"vpx://{sim.host}:{sim.port}/", auth=(sim.username, sim.password), ca_file=sim.ca_file
        ) as conn:
            running = conn.domains().query("state == 'running'")
            vm = conn.domain(running["name"].iloc[0]).vm
            for _ in range(args.events // 4):  # each cycle: stopping, off, starting, on (+ task events)
                wait_for_task(conn, vm.PowerOffVM_Task())
                wait_for_task(conn, vm.PowerOnVM_Task())
            start = time.perf_counter()
            events = conn.events()
            mine = time.perf_counter() - start
            start = time.perf_counter()
            bare = bare_events(conn)
            theirs = time.perf_counter() - start
            print(
                f"events(): {len(events)} events in {mine:.2f} s ({len(events) / mine:,.0f}/s); "
                f"bare pyVmomi collector: {bare} in {theirs:.2f} s ({bare / theirs:,.0f}/s)"
            )

            vms = conn.vms()
            start = time.perf_counter()
            samples = conn.perf(vms, COUNTERS, max_samples=args.samples)
            mine = time.perf_counter() - start
            objs = [vim.VirtualMachine(m, conn.session.stub) for m in vms["moref"]]
            start = time.perf_counter()
            values = bare_perf(conn, objs, args.samples)
            theirs = time.perf_counter() - start
            print(
                f"perf(): {len(samples)} samples of {len(vms)} VMs x {len(COUNTERS)} counters in {mine:.2f} s, "
                f"{samples.attrs['round_trips']} QueryPerf call(s); one QueryPerf per VM: {values} values in "
                f"{theirs:.2f} s, {len(objs)} calls ({theirs / mine:.1f}x slower)"
            )

            with conn.watch("domains") as live:
                target = live.frame[live.frame["state"] == "running"].iloc[1]
                vm = conn.domain(target["name"]).vm
                start = time.perf_counter()
                wait_for_task(conn, vm.PowerOffVM_Task())
                while live.frame.set_index("moref").loc[target["moref"], "state"] != "shut off":
                    time.sleep(0.005)
                latency = time.perf_counter() - start
                wait_for_task(conn, vm.PowerOnVM_Task())
            start = time.perf_counter()
            conn.domains()
            poll = time.perf_counter() - start
            print(
                f"live table: a power-off visible {latency * 1000:.0f} ms after the call returned started; "
                f"one domains() re-read (the polling way) takes {poll * 1000:.0f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
