"""Performance metrics against the simulator: counters, intervals, and samples for many
entities in few QueryPerf calls, with readable units."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esxnb import errors
from esxnb.connection import Connection
from esxnb.perf import BATCH
from esxnb.simulator import Simulator
from helpers import connect_to

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def conn() -> Iterator[Connection]:
    with (
        Simulator(estate="demo", seed=2, vms=80) as sim,
        connect_to(sim, f"vpx://{sim.host}:{sim.port}/") as c,
    ):
        yield c


def test_counters_and_intervals(conn: Connection) -> None:
    counters = conn.perf_counters()
    usage = counters.set_index("name").loc["cpu.usage.average"]
    assert usage["unit"] == "percent" and usage["group"] == "cpu"
    intervals = conn.perf_intervals()
    assert list(intervals["name"]) == ["realtime", "Past day", "Past week", "Past month", "Past year"]
    assert list(intervals["seconds"]) == [20, 300, 1800, 7200, 86400]


def test_many_vms_in_few_calls_with_readable_units(conn: Connection) -> None:
    vms = conn.vms()
    assert len(vms) > BATCH
    samples = conn.perf(
        vms, ["cpu.usage.average", "mem.usage.average", "mem.consumed.average"], max_samples=30
    )
    assert samples.attrs["round_trips"] == -(-len(vms) // BATCH)  # one call per batch of 64 VMs
    running = vms[vms["power_state"] == "poweredOn"]
    assert set(samples["entity"]) == set(running["name"]) and set(samples["entity_type"]) == {
        "VirtualMachine"
    }
    assert len(running) < len(vms), (
        "a VM that is not running has no samples (the simulator follows power state)"
    )
    per_series = samples.groupby(["moref", "counter"]).size()
    assert per_series.max() <= 30, "max_samples bounds every series"
    units = dict(zip(samples["counter"], samples["unit"]))
    assert units == {"cpu.usage.average": "%", "mem.usage.average": "%", "mem.consumed.average": "MiB"}
    cpu = samples[samples["counter"] == "cpu.usage.average"]["value"]
    assert 0 <= cpu.min() and cpu.max() <= 100, "percent from hundredths"
    assert (
        samples["time"].is_monotonic_increasing
        or samples.groupby(["moref", "counter"])["time"].apply(lambda t: t.is_monotonic_increasing).all()
    )


def test_entities_by_name_domain_or_host_and_historical_intervals(conn: Connection) -> None:
    names = list(conn.domains()["name"][:2])
    by_name = conn.perf(names, "cpu.usage.average", max_samples=5)
    by_domain = conn.perf([conn.domain(n) for n in names], "cpu.usage.average", max_samples=5)
    assert set(by_name["entity"]) == set(by_domain["entity"]) == set(names)
    hosts = conn.perf(conn.hosts(), "cpu.usage.average", interval="Past day", max_samples=12)
    assert set(hosts["entity_type"]) == {"HostSystem"} and hosts.attrs["interval_seconds"] == 300


def test_mistakes_say_what_exists(conn: Connection) -> None:
    vm = conn.domains()["name"].iloc[0]
    with pytest.raises(
        errors.ValidationError, match="unknown counter.*'cpu.usge.average' \\(close: cpu.usage.average"
    ):
        conn.perf(vm, "cpu.usge.average")
    with pytest.raises(
        errors.ValidationError, match="unknown interval 'Past decade'; this server has: realtime, Past day"
    ):
        conn.perf(vm, "cpu.usage.average", interval="Past decade")
    with pytest.raises(errors.NotFoundError, match="no VM or host named"):
        conn.perf("no-such-vm", "cpu.usage.average")


def test_plots_are_titled_and_labelled_with_units(conn: Connection) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from esxnb import plot

    samples = conn.perf(conn.vms().head(12), ["cpu.usage.average", "mem.consumed.average"], max_samples=40)
    with pytest.raises(errors.ValidationError, match="several counters"):
        plot.over_time(samples)
    ax = plot.over_time(samples, counter="cpu.usage.average", top=5)
    assert ax.get_title() == "cpu.usage.average over time (the 5 highest)" and ax.get_ylabel().endswith("(%)")
    assert len(ax.get_lines()) == 5
    ax = plot.top_n(samples, 4, counter="mem.consumed.average")
    assert ax.get_xlabel() == "mem.consumed.average (MiB)" and len(ax.get_yticklabels()) == 4
    hosts = conn.perf(conn.hosts(), "cpu.usage.average", max_samples=60)
    ax = plot.heatmap(hosts)
    assert "per 5min" in ax.get_title() and ax.get_ylabel() == "entity"
    plt.close("all")
