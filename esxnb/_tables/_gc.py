"""The cyclic garbage collector held off while a bulk read builds millions of small objects.

A 10,000-VM estate decodes into millions of dicts, lists and strings, none of them garbage
until the read ends, so every collection the allocations trigger walks them all for nothing.
Collection is paused for the read and resumed (if it was on) when the last concurrent read
ends; reference counting still frees everything as usual.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_readers = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _readers, _was_enabled
    with _lock:
        if _readers == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _readers += 1
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if _readers == 0 and _was_enabled:
                gc.enable()
