"""The one loop that follows property changes: a private PropertyCollector, one filter, and
``WaitForUpdatesEx`` calls bounded by ``maxWaitSeconds``.

Tasks, power-state waits and live tables all read changes through :func:`follow`, so nothing
can hang past its deadline, a ``cancel_event`` is noticed within a second, and concurrent
waits in other threads never steal each other's updates (each has its own collector).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from pyVmomi import vmodl

from ._faults import translate

if TYPE_CHECKING:
    from ._protocol import ConnectionLike

__all__ = ["follow", "next_update", "long_poll_seconds", "Stop"]

log = logging.getLogger("esxnb")

PC = vmodl.query.PropertyCollector

# Longest single WaitForUpdatesEx; shorter when a cancel_event must be noticed quickly.
_MAX_WAIT_S = 10
_CANCEL_POLL_S = 1

#: ``stop(reason)`` builds the exception that ends a wait: reason is "cancelled" or "timeout".
Stop = Callable[[str], BaseException]


def long_poll_seconds(conn: ConnectionLike, wanted: float) -> int:
    """``maxWaitSeconds`` for one WaitForUpdatesEx: at most ``wanted``, and a second less than
    the connection's request timeout, so that the server's legitimate silence during a long
    poll is not taken for a server that stopped answering (0: ask and return at once)."""
    timeout = getattr(getattr(conn, "session", None), "timeout", None)
    if timeout:
        wanted = min(wanted, timeout - 1.0)
    return max(0, int(wanted))


def next_update(
    conn: ConnectionLike, collector: Any, version: str, remaining: float, cancel_event: threading.Event | None
) -> Any:
    """One WaitForUpdatesEx on ``collector``, bounded by the ``remaining`` seconds and kept
    short when a ``cancel_event`` must be noticed; None when nothing changed meanwhile."""
    slice_s = _CANCEL_POLL_S if cancel_event is not None else _MAX_WAIT_S
    wait_s = long_poll_seconds(conn, max(1, min(slice_s, int(remaining + 0.999))))
    update = collector.WaitForUpdatesEx(version, PC.WaitOptions(maxWaitSeconds=wait_s))
    if update is None and wait_s == 0:
        time.sleep(0.2)  # a request timeout under 1 s: poll, do not spin
    return update


def follow(
    conn: ConnectionLike,
    spec: Any,
    *,
    description: str,
    deadline: float | None,
    cancel_event: threading.Event | None,
    stop: Stop,
    partial: bool = True,
) -> Generator[list[Any], None, None]:
    """Yield the ObjectUpdates of each change batch of the filter ``spec`` (the first batch
    holds the current values), until the caller stops iterating.

    Before every wait: a set ``cancel_event`` raises ``stop("cancelled")``, a passed
    ``deadline`` (``time.monotonic()`` seconds; None: none) raises ``stop("timeout")``.
    The collector and its filter are destroyed whatever happens. ``partial=False`` asks for
    whole property values in every change (no indexed sub-paths such as ``device[2000]``).
    """
    with translate(f"watching {description}"):
        collector = conn.content.propertyCollector.CreatePropertyCollector()
    try:
        with translate(f"watching {description}"):
            collector.CreateFilter(spec, partial)
        version = ""
        while True:
            if cancel_event is not None and cancel_event.is_set():
                raise stop("cancelled")
            remaining = float("inf") if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                raise stop("timeout")
            with translate(f"watching {description}"):
                update = next_update(conn, collector, version, min(remaining, 3600.0), cancel_event)
            if update is None:
                continue
            version = update.version
            yield [
                object_update
                for filter_update in update.filterSet or []
                for object_update in filter_update.objectSet or []
            ]
    finally:
        try:
            collector.DestroyPropertyCollector()  # also destroys its filter
        except Exception:  # clean-up must not hide the outcome; the session drops it anyway
            log.debug("DestroyPropertyCollector failed", exc_info=True)
