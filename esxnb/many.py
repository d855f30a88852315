"""The domains (or the estate tables) of many servers at once: one session per server, fetched
concurrently."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from . import errors
from ._session import DEFAULT_TIMEOUT
from .uri import URI, hide_passwords, parse_uri

if TYPE_CHECKING:
    import pandas as pd

    from .credentials import AuthSource

__all__ = ["inventory", "server_label"]

log = logging.getLogger("esxnb")


def server_label(item: Any) -> str:
    """How a server is named in the ``server`` column and in ``attrs["errors"]`` (its URI)."""
    from .connection import Connection

    if isinstance(item, Connection):
        return str(item.uri)
    if isinstance(item, URI):
        return str(item)
    try:
        return str(parse_uri(str(item)))
    except errors.URIError:
        # Keep a malformed URI recognisable, but never with a password in it.
        return hide_passwords(str(item))


def _one(
    item: Any, fetch: Callable[[Any], Any], auth: AuthSource, ca_file: str | None, timeout: float | None
) -> Any:
    from .connection import Connection, connect

    if isinstance(item, Connection):
        return fetch(item)
    uri = item if isinstance(item, URI) else parse_uri(str(item))
    with connect(uri, auth=auth, ca_file=ca_file, timeout=timeout) as conn:
        return fetch(conn)


def inventory(
    uris: Iterable[Any],
    *,
    tables: Iterable[str] | None = None,
    auth: AuthSource = None,
    ca_file: str | None = None,
    max_workers: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Any:
    """``domains()`` of several servers fetched concurrently, in one DataFrame with a ``server`` column;
    with ``tables=`` (estate table names, e.g. ``["vms", "disks"]``) an :class:`~esxnb.Estate`
    whose every table has that ``server`` column.

    ``uris`` holds URIs (strings or :class:`~esxnb.uri.URI`) and/or open
    :class:`~esxnb.connection.Connection` objects (used as they are, left open). Each URI gets
    its own session, closed afterwards. A server that fails is left out and reported in
    ``df.attrs["errors"]`` (``{server: message}``) and a logged warning.
    """
    started = time.perf_counter()
    if isinstance(uris, (str, URI)) or not isinstance(uris, Iterable):
        raise errors.ValidationError(
            f"inventory() takes a list of URIs or connections, not a single {type(uris).__name__}"
        )
    items = list(uris)
    labels = [server_label(item) for item in items]
    if len(set(labels)) != len(labels):
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        raise errors.ValidationError(f"the same server is listed more than once: {', '.join(duplicates)}")
    if max_workers is not None and max_workers < 1:
        raise errors.ValidationError(f"max_workers must be at least 1, not {max_workers}")
    workers = max_workers or min(32, max(1, len(items)))

    wanted = None if tables is None else list(tables)
    fetch: Callable[[Any], Any] = (
        (lambda conn: conn.domains()) if wanted is None else (lambda conn: conn.estate(wanted))
    )
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    if items:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="esxnb-inventory") as pool:
            futures = {
                label: pool.submit(_one, item, fetch, auth, ca_file, timeout)
                for label, item in zip(labels, items)
            }
            for label, future in futures.items():
                try:
                    results[label] = future.result()
                except errors.EsxnbError as exc:
                    failures[label] = str(exc)
                    log.warning("inventory: %s failed: %s", label, exc)
                except Exception as exc:  # a bug or an unexpected library error: still only this server
                    failures[label] = f"{type(exc).__name__}: {exc}"
                    log.warning("inventory: %s failed: %s: %s", label, type(exc).__name__, exc)
    if wanted is None:
        from .domain import DOMAINS

        return _stack(labels, results, DOMAINS, failures, started)
    from .estate import ESTATE_TABLES, Estate, table_spec

    names = wanted or list(next(iter(results.values()), {}) or ESTATE_TABLES)
    combined = {
        name: _stack(
            labels,
            {label: estate[name] for label, estate in results.items()},
            table_spec(name),
            failures,
            started,
        )
        for name in names
    }
    servers = {label: estate.server for label, estate in results.items()}
    return Estate(
        combined,
        taken_at=dt.datetime.now(dt.timezone.utc),
        source=", ".join(labels),
        server={"servers": servers},
    )


def _stack(
    labels: list[str], frames: dict[str, pd.DataFrame], spec: Any, failures: dict[str, str], started: float
) -> pd.DataFrame:
    """The servers' frames one under the other, with a categorical ``server`` column first."""
    import pandas as pd

    from ._tables import empty_frame

    parts = []
    for label in labels:
        frame = frames.get(label)
        if frame is None:
            continue
        frame = frame.copy()
        frame.insert(0, "server", label)
        parts.append(frame)
    if parts:
        result = pd.concat(parts, ignore_index=True)
        _keep_categories(result, parts)
    else:
        result = empty_frame(spec)
        result.insert(0, "server", pd.array([], dtype="string"))
    result["server"] = pd.Categorical(
        result["server"].astype(object), categories=[label for label in labels if label in frames]
    )
    result.attrs = {
        "errors": failures,
        "round_trips": sum(int(frames[label].attrs.get("round_trips", 0)) for label in frames),
        "seconds": round(time.perf_counter() - started, 4),
        "servers": {label: round(float(frames[label].attrs.get("seconds", 0.0)), 4) for label in frames},
    }
    return result


def _keep_categories(result: pd.DataFrame, parts: list[pd.DataFrame]) -> None:
    """Categorical columns stay categorical (pandas makes them object when categories differ)."""
    import pandas as pd

    for column in parts[0].columns:
        dtypes = [part[column].dtype for part in parts]
        if not all(isinstance(dtype, pd.CategoricalDtype) for dtype in dtypes):
            continue
        categories: list[Any] = []
        for dtype in dtypes:
            categories.extend(c for c in dtype.categories if c not in categories)
        result[column] = pd.Categorical(result[column].astype(object), categories=categories)
