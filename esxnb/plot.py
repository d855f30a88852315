"""The common pictures of ``Connection.perf()`` samples, titled and labelled with their units.

    from esxnb import plot
    samples = conn.perf(conn.vms(), "cpu.usage.average")
    plot.over_time(samples, top=5)      # a line per entity (the 5 busiest)
    plot.top_n(samples, 10)             # the 10 busiest entities, mean and peak
    plot.heatmap(host_samples)          # entities x time, colour = value

Each takes the samples of one counter (``counter=`` picks one when there are several) and an
optional matplotlib ``ax``; each returns the axes. matplotlib comes with ``esxnb[notebooks]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["over_time", "top_n", "heatmap"]


def _one_counter(samples: pd.DataFrame, counter: str | None) -> tuple[pd.DataFrame, str, str]:
    if samples.empty:
        raise errors.ValidationError("no samples to plot")
    counters = list(dict.fromkeys(samples["counter"].astype(str)))
    chosen = counter or counters[0]
    if counter is None and len(counters) > 1:
        raise errors.ValidationError(
            f"the samples hold several counters ({', '.join(counters)}): pick one with counter="
        )
    if chosen not in counters:
        raise errors.ValidationError(f"no samples of {chosen!r}; they hold {', '.join(counters)}")
    one = samples[samples["counter"].astype(str) == chosen]
    return one, chosen, str(one["unit"].iloc[0])


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size)[1]


def _ranked(one: pd.DataFrame) -> pd.Series:
    return one.groupby("entity", observed=True)["value"].mean().sort_values(ascending=False)


def over_time(
    samples: pd.DataFrame, *, counter: str | None = None, top: int | None = 8, ax: Any = None
) -> Any:
    """A line per entity (the ``top`` busiest by mean; None: all)."""
    one, name, unit = _one_counter(samples, counter)
    entities = list(_ranked(one).index[:top] if top else _ranked(one).index)
    ax = _axes(ax, (9, 3.5))
    for entity in entities:
        series = one[one["entity"] == entity].sort_values("time")
        ax.plot(series["time"], series["value"].astype(float), label=str(entity), linewidth=1.2)
    ax.set_title(f"{name} over time" + (f" (the {len(entities)} highest)" if top else ""))
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(f"{name} ({unit})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ax.figure.autofmt_xdate()
    return ax


def top_n(samples: pd.DataFrame, n: int = 10, *, counter: str | None = None, ax: Any = None) -> Any:
    """The ``n`` entities with the highest mean, their peak drawn behind."""
    one, name, unit = _one_counter(samples, counter)
    stats = one.groupby("entity", observed=True)["value"].agg(["mean", "max"]).astype(float)
    stats = stats.sort_values("mean", ascending=False).head(n).iloc[::-1]
    ax = _axes(ax, (8, 0.35 * len(stats) + 1.5))
    labels = [str(i) for i in stats.index]
    ax.barh(labels, stats["max"], color="lightgray", label="peak")
    ax.barh(labels, stats["mean"], height=0.5, color="tab:blue", label="mean")
    ax.set_title(f"Top {len(stats)} by {name}")
    ax.set_xlabel(f"{name} ({unit})")
    ax.set_ylabel("entity")
    ax.legend(loc="lower right")
    return ax


def heatmap(
    samples: pd.DataFrame, *, counter: str | None = None, bucket: str = "5min", ax: Any = None
) -> Any:
    """Entities (rows) over time (columns, in ``bucket`` steps), colour = mean value."""
    import pandas as pd

    one, name, unit = _one_counter(samples, counter)
    grid = one.assign(slot=one["time"].dt.floor(bucket)).pivot_table(
        index="entity", columns="slot", values="value", aggfunc="mean", observed=True
    )
    grid = grid.loc[_ranked(one).index.intersection(grid.index)]
    ax = _axes(ax, (10, 0.3 * len(grid) + 1.8))
    image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(grid)), [str(i) for i in grid.index])
    step = max(1, len(grid.columns) // 8)
    ax.set_xticks(
        range(0, len(grid.columns), step), [pd.Timestamp(c).strftime("%H:%M") for c in grid.columns[::step]]
    )
    ax.set_title(f"{name} per {bucket}")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("entity")
    ax.figure.colorbar(image, ax=ax, label=f"{name} ({unit})")
    return ax
