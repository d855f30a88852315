"""Performance metrics as tidy DataFrames: the counters a server keeps, its sampling intervals,
and samples for many VMs and hosts in few ``QueryPerf`` calls.

``perf()`` always sends a bounded ``maxSample`` (a server may answer nothing without one),
batches many entities per call, asks for the csv format (a vCenter answers with text instead
of one element per value; "normal" answers are read too), turns units into what people read (percent from hundredths,
KiB as MiB where the counter counts memory) and names entities instead of morefs.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from . import errors
from ._faults import translate
from ._protocol import Facet

if TYPE_CHECKING:
    import pandas as pd

    from ._protocol import ConnectionLike

__all__ = ["PerfFacet", "REALTIME_SECONDS", "BATCH"]

#: The realtime interval's sampling period (ESX keeps an hour of it).
REALTIME_SECONDS = 20
#: Entities per QueryPerf call.
BATCH = 64
_DEFAULT_SAMPLES = {REALTIME_SECONDS: 180}  # an hour of realtime samples
# server unit -> (shown unit, factor)
_UNITS = {
    "percent": ("%", 0.01),
    "kiloBytes": ("MiB", 1 / 1024),
    "megaBytes": ("MiB", 1.0),
    "megaHertz": ("MHz", 1.0),
    "kiloBytesPerSecond": ("KiB/s", 1.0),
    "megaBytesPerSecond": ("MiB/s", 1.0),
    "millisecond": ("ms", 1.0),
    "microsecond": ("µs", 1.0),
    "second": ("s", 1.0),
    "number": ("count", 1.0),
    "watt": ("W", 1.0),
    "joule": ("J", 1.0),
    "celsius": ("°C", 1.0),
}


def _counters(conn: ConnectionLike) -> list[Any]:
    memo = conn.memo
    if "perf_counters" not in memo:
        with translate("cannot read the performance counters"):
            memo["perf_counters"] = list(conn.content.perfManager.perfCounter or [])
    return memo["perf_counters"]


def _full_name(info: Any) -> str:
    return f"{info.groupInfo.key}.{info.nameInfo.key}.{info.rollupType}"


class PerfFacet(Facet):
    __slots__ = ()

    def perf_counters(self) -> pd.DataFrame:
        """One row per counter: ``key``, ``name`` (group.name.rollup), ``group``, ``unit``,
        ``level``, ``description``."""
        import pandas as pd

        rows = [
            {
                "key": int(info.key),
                "name": _full_name(info),
                "group": info.groupInfo.key,
                "unit": info.unitInfo.key,
                "level": int(info.level or 0),
                "description": info.nameInfo.summary,
            }
            for info in _counters(self._conn)
        ]
        frame = pd.DataFrame(rows, columns=["key", "name", "group", "unit", "level", "description"])
        return frame.astype({"key": "Int64", "level": "Int64"}).sort_values("name", ignore_index=True)

    def perf_intervals(self) -> pd.DataFrame:
        """The sampling intervals: ``name``, ``seconds`` (sampling period), ``kept_seconds``,
        ``level``, ``enabled``; realtime (20 s, about an hour kept) first."""
        import pandas as pd

        with translate("cannot read the performance intervals"):
            intervals = list(self._conn.content.perfManager.historicalInterval or [])
        rows = [
            {
                "name": "realtime",
                "seconds": REALTIME_SECONDS,
                "kept_seconds": 3600,
                "level": None,
                "enabled": True,
            }
        ]
        rows += [
            {
                "name": i.name,
                "seconds": int(i.samplingPeriod),
                "kept_seconds": int(i.length),
                "level": int(i.level),
                "enabled": bool(i.enabled),
            }
            for i in intervals
        ]
        return pd.DataFrame(rows).astype({"seconds": "Int64", "kept_seconds": "Int64", "level": "Int64"})

    def perf(
        self,
        entities: Any,
        counters: str | Sequence[str],
        *,
        interval: str | int = "realtime",
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        instances: str = "",
        max_samples: int | None = None,
    ) -> pd.DataFrame:
        """Samples in tidy form: ``time`` (UTC), ``entity``, ``entity_type``, ``moref``,
        ``counter``, ``instance``, ``unit``, ``value``.

        ``entities``: names (VMs or hosts), Domains, pyVmomi objects, or a DataFrame with a
        ``moref`` (or ``vm_moref``) column; ``counters``: names as ``perf_counters()`` lists
        them (``cpu.usage.average``); ``interval``: "realtime", seconds, or a name from
        ``perf_intervals()``; ``instances``: "" for the aggregate, "*" for every instance.
        """
        import pandas as pd

        conn = self._conn
        targets = _entities(conn, entities)
        wanted = [counters] if isinstance(counters, str) else list(counters)
        by_name = {_full_name(c): c for c in _counters(conn)}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            hints = {n: difflib.get_close_matches(n, by_name, n=3) for n in unknown}
            raise errors.ValidationError(
                "unknown counter(s) "
                + "; ".join(f"{n!r} (close: {', '.join(h) or 'none'})" for n, h in hints.items())
                + f"; perf_counters() lists the {len(by_name)} this server keeps"
            )
        seconds = _interval_seconds(self, interval)
        samples = max_samples or _DEFAULT_SAMPLES.get(seconds, 100)
        if samples < 1:
            raise errors.ValidationError(f"max_samples must be at least 1, not {samples}")
        metric_ids = [
            vim.PerformanceManager.MetricId(counterId=by_name[n].key, instance=instances) for n in wanted
        ]
        names = {by_name[n].key: n for n in wanted}
        units = {by_name[n].key: by_name[n].unitInfo.key for n in wanted}
        columns: dict[str, list[Any]] = {c: [] for c in _COLUMNS}
        calls = 0
        for first in range(0, len(targets), BATCH):
            batch = targets[first : first + BATCH]
            specs = [
                vim.PerformanceManager.QuerySpec(
                    entity=mo,
                    metricId=metric_ids,
                    intervalId=seconds,
                    maxSample=samples,
                    startTime=start,
                    endTime=end,
                    format="csv",  # text instead of one element per value: far less to decode
                )
                for mo, _name in batch
            ]
            with translate("cannot read performance samples"):
                answers = conn.content.perfManager.QueryPerf(querySpec=specs) or []
            calls += 1
            label = {mo._moId: name for mo, name in batch}
            for answer in answers:
                _collect(answer, label, names, units, columns)
        frame = pd.DataFrame(columns)
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        frame = frame.sort_values(["entity", "counter", "instance", "time"], ignore_index=True)
        frame = frame.astype({"value": "Float64", "entity": "string", "counter": "string", "unit": "string"})
        frame.attrs.update({"round_trips": calls, "interval_seconds": seconds, "max_samples": samples})
        return frame


_COLUMNS = ("time", "entity", "entity_type", "moref", "counter", "instance", "unit", "value")


def _collect(
    answer: Any,
    label: dict[str, str],
    names: dict[int, str],
    units: dict[int, str],
    columns: dict[str, list[Any]],
) -> None:
    """Append one entity's series to the column lists (column-wise: hundreds of thousands of
    samples would be slow as one dict each)."""
    csv = isinstance(answer, vim.PerformanceManager.EntityMetricCSV)
    if csv:  # "interval,timestamp,interval,timestamp..."
        fields = (answer.sampleInfoCSV or "").split(",")
        times = [_timestamp(text) for text in fields[1::2]]
    else:  # a server that answers "normal" whatever was asked
        times = [info.timestamp for info in answer.sampleInfo or []]
    moref, kind = answer.entity._moId, answer.entity._wsdlName
    entity = label.get(moref, moref)
    for series in answer.value or []:
        key = series.id.counterId
        shown, factor = _UNITS.get(units.get(key, ""), (units.get(key, ""), 1.0))
        raw = [int(v) for v in series.value.split(",") if v] if csv and series.value else (series.value or [])
        kept = [(t, v) for t, v in zip(times, raw) if v is not None and v >= 0]  # -1: no sample
        n = len(kept)
        columns["time"].extend(t for t, _v in kept)
        columns["value"].extend(v * factor for _t, v in kept)
        for column, value in (
            ("entity", entity),
            ("entity_type", kind),
            ("moref", moref),
            ("counter", names.get(key, str(key))),
            ("instance", series.id.instance or ""),
            ("unit", shown),
        ):
            columns[column].extend([value] * n)


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _interval_seconds(facet: PerfFacet, interval: str | int) -> int:
    if isinstance(interval, int):
        if interval <= 0:
            raise errors.ValidationError(f"interval must be a positive number of seconds, not {interval}")
        return interval
    if interval == "realtime":
        return REALTIME_SECONDS
    known = facet.perf_intervals()
    match = known[known["name"].str.lower() == interval.lower()]
    if match.empty:
        raise errors.ValidationError(
            f"unknown interval {interval!r}; this server has: {', '.join(known['name'])} (or a number of seconds)"
        )
    return int(match.iloc[0]["seconds"])


def _entities(conn: ConnectionLike, entities: Any) -> list[tuple[Any, str]]:
    """``(pyVmomi object, name)`` for every entity given."""
    import pandas as pd

    stub = conn.session.stub
    if isinstance(entities, pd.DataFrame):
        column = (
            "moref" if "moref" in entities.columns else "vm_moref" if "vm_moref" in entities.columns else None
        )
        if column is None:
            raise errors.ValidationError("a DataFrame of entities needs a moref (or vm_moref) column")
        label = next((c for c in ("name", "vm", "domain") if c in entities.columns), column)
        found = []
        for moref, name in zip(entities[column], entities[label]):
            kind = vim.HostSystem if str(moref).startswith("host-") else vim.VirtualMachine
            found.append((kind(str(moref), stub), str(name)))
        return found
    items: Iterable[Any] = (
        [entities] if isinstance(entities, str) or not isinstance(entities, Iterable) else entities
    )
    found = []
    names: dict[str, Any] | None = None
    for item in items:
        if isinstance(item, str):
            if names is None:
                names = _by_name(conn)
            if item not in names:
                close = difflib.get_close_matches(item, names, n=3)
                raise errors.NotFoundError(
                    f"no VM or host named {item!r}" + (f"; close: {', '.join(close)}" if close else "")
                )
            found.append((names[item], item))
        elif hasattr(item, "vm"):  # a Domain
            found.append((item.vm, item.name))
        elif hasattr(item, "_moId"):
            found.append((item, item._moId))
        else:
            raise errors.ValidationError(
                f"cannot take {type(item).__name__} as an entity: give names, Domains or a DataFrame"
            )
    return found


def _by_name(conn: ConnectionLike) -> dict[str, Any]:
    from ._tables import read_tables
    from .domain._table import DOMAINS
    from .host._table import HOSTS

    frames = read_tables(conn, [DOMAINS, HOSTS])
    stub = conn.session.stub
    found: dict[str, Any] = {}
    for name, moref in zip(frames["hosts"]["name"], frames["hosts"]["moref"]):
        found[str(name)] = vim.HostSystem(str(moref), stub)
    for name, moref in zip(frames["domains"]["name"], frames["domains"]["moref"]):
        found[str(name)] = vim.VirtualMachine(str(moref), stub)
    return found
