"""Tables that stay live: one PropertyCollector filter over the same views a table read uses,
then ``WaitForUpdatesEx`` changes applied to the DataFrame in place, never a refetch.

The first update batch holds every object's current values; later batches carry only what
changed (objects entering or leaving the views included). The rows of changed objects are
recomputed from the local copy of their properties (all rows when an inventory object such as
a host or folder changed, since names and paths derive from them) and written into the frame;
``changes`` logs each changed value.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyVmomi import vmodl
from pyVmomi.VmomiSupport import DataObject, ManagedObject

from .. import errors
from .._fastpc import Retrieval, Table
from .._refs import Ref
from .._updates import follow
from ._frame import build_frame
from ._read import filter_specs, read, scope_ref
from ._spec import Row, TableSpec
from ._structure import Structure

if TYPE_CHECKING:
    import pandas as pd

    from .._protocol import ConnectionLike

__all__ = ["LiveTable", "plain"]

log = logging.getLogger("esxnb")
PC = vmodl.query.PropertyCollector
_live: weakref.WeakSet[LiveTable] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for table in list(_live):
        table.stop()


def plain(value: Any) -> Any:
    """A pyVmomi value in the bulk decoder's form: references as :class:`Ref`, data objects as
    dicts with ``_type``, arrays as lists, everything else as it is."""
    if isinstance(value, ManagedObject):
        return Ref(value._wsdlName, value._moId)
    if isinstance(value, DataObject):
        found: dict[str, Any] = {"_type": value._wsdlName}
        for prop in value._GetPropertyList():
            item = getattr(value, prop.name, None)
            if item is not None and item != []:
                found[prop.name] = plain(item)
        return found
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def _merged(specs: list[Any]) -> Any:
    """One FilterSpec holding the object and property specs of several (one filter, one version)."""
    objects = [item for spec in specs for item in spec.objectSet]
    properties = [item for spec in specs for item in spec.propSet]
    return PC.FilterSpec(objectSet=objects, propSet=properties, reportMissingObjectsInResults=False)


class LiveTable:
    """A table that follows the server: ``frame`` is the current DataFrame (indexed like the
    table read once), ``changes`` a DataFrame of what changed (``time``, ``moref``, ``row``,
    ``column``, ``before``, ``after``, ``change``: changed, added, removed). ``on_change(live,
    changes)`` (and every :meth:`subscribe` d callback) is called after each batch that changed
    something, from the watching thread. ``stop()`` (or leaving a
    ``with`` block, or the interpreter exiting) ends the watch and destroys the server's filter.
    ``updates`` counts the change batches applied, ``reads`` the table reads made (one at start
    when the table needs host autostart data; never one per change). ``interval`` (seconds)
    applies changes at most that often, gathered into one batch (None: as they come).
    """

    def __init__(
        self,
        conn: ConnectionLike,
        spec: TableSpec,
        *,
        on_change: Callable[[LiveTable, pd.DataFrame], None] | None = None,
        key: str | None = None,
        interval: float | None = None,
    ) -> None:
        import pandas as pd

        if spec.expand is not None:
            raise errors.ValidationError(
                f"table {spec.name} has several rows per object; watch a table with one row per object"
            )
        self.spec = spec
        self.key = key or ("moref" if "moref" in spec.column_names else "vm_moref")
        if self.key not in spec.column_names:
            raise errors.ValidationError(f"table {spec.name} has no moref column to follow its rows by")
        if interval is not None and interval < 0:
            raise errors.ValidationError(f"interval must be >= 0 seconds, not {interval}")
        self.interval = interval
        self._conn = conn
        self._callbacks: list[Callable[[LiveTable, pd.DataFrame], None]] = [on_change] if on_change else []
        self._lock = threading.Lock()
        self._props: dict[Ref, dict[str, Any]] = {}
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.updates = 0
        self.reads = 0
        if "autostart" in spec.needs:  # the host autostart managers are found by one ordinary read
            read(conn, [spec])
            self.reads += 1
        self.frame: pd.DataFrame = build_frame(spec, [])
        self.changes = pd.DataFrame(columns=["time", "moref", "row", "column", "before", "after", "change"])
        self._filter = _merged(filter_specs(conn, [spec]))
        self._thread = threading.Thread(target=self._run, name=f"esxnb-live-{spec.name}", daemon=True)
        _live.add(self)
        self._thread.start()

    # -- life cycle -------------------------------------------------------------------
    def wait_ready(self, timeout: float = 60.0) -> LiveTable:
        """Block until the first batch (every object's current values) is in ``frame``."""
        if not self._ready.wait(timeout):
            raise errors.TaskTimeoutError(
                f"the live table {self.spec.name} got no first update in {timeout:g} s"
            )
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        _live.discard(self)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def error(self) -> BaseException | None:
        """What ended the watch, if it ended by itself."""
        return self._error

    def __enter__(self) -> LiveTable:
        return self.wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveTable {self.spec.name}: {len(self.frame)} rows, {self.updates} update(s), {state}>"

    # -- following --------------------------------------------------------------------
    def _run(self) -> None:
        def stopped(reason: str) -> BaseException:
            return errors.TaskCancelledError(f"live table {self.spec.name} stopped ({reason})")

        try:
            for batch in follow(
                self._conn,
                self._filter,
                description=f"the {self.spec.name} table",
                deadline=None,
                cancel_event=self._stop,
                stop=stopped,
                partial=False,
            ):
                self._apply(batch)
                self._ready.set()
                if self.interval:  # let changes gather on the server: fewer, larger batches
                    self._stop.wait(self.interval)
        except errors.TaskCancelledError:
            pass
        except BaseException as exc:  # noqa: BLE001 - kept for the caller: the thread has no one to tell
            if not self._stop.is_set():
                self._error = exc
                log.warning("live table %s stopped: %s", self.spec.name, exc)
        finally:
            self._ready.set()

    def _apply(self, batch: list[Any]) -> None:
        touched: set[Ref] = set()
        structural = False
        for update in batch:
            ref = Ref(update.obj._wsdlName, update.obj._moId)
            kind = str(update.kind)
            if kind == "leave":
                self._props.pop(ref, None)
            else:
                props = self._props.setdefault(ref, {})
                for change in update.changeSet or []:
                    if str(change.op) == "remove" or change.val is None:
                        props.pop(change.name, None)
                    else:
                        props[change.name] = plain(change.val)
            touched.add(ref)
            structural = structural or ref.type not in self.spec.types
        self._rebuild(touched, structural)
        self.updates += 1

    def _rows(self, refs: set[Ref] | None) -> dict[str, dict[str, Any]]:
        """The rows (by key) of the table's objects among ``refs`` (all when None)."""
        result = Retrieval()
        for ref, props in self._props.items():
            table = result.tables.setdefault(ref.type, Table())
            table.refs.append(ref)
            table.rows.append(props)
        conn = self._conn
        structure = Structure(result, datacenter=conn.datacenter, datacenter_path=conn.datacenter_path)
        extra = {"autostart": structure.autostart(), "scope": scope_ref(conn)}
        readers = [(column.name, column.reader()) for column in self.spec.columns]
        rows: dict[str, dict[str, Any]] = {}
        for kind in self.spec.types:
            table = result.tables.get(kind, Table())
            for ref, props in zip(table.refs, table.rows):
                if refs is not None and ref not in refs:
                    continue
                row = Row(ref, props, structure, extra)
                if self.spec.keep is not None and not self.spec.keep(row):
                    continue
                values = {name: compute(row) for name, compute in readers}
                rows[str(values[self.key])] = values
        return rows

    def _rebuild(self, touched: set[Ref], structural: bool) -> None:
        import pandas as pd

        with self._lock:
            first = self.updates == 0
            fresh = self._rows(None if structural or first else touched)
            frame = self.frame
            current = {str(k): i for i, k in enumerate(frame[self.key])} if len(frame) else {}
            now = dt.datetime.now(dt.timezone.utc)
            log_rows: list[dict[str, Any]] = []
            touched_keys = {ref.value for ref in touched} if not structural else set(current) | set(fresh)
            gone = [k for k in current if k in touched_keys and k not in fresh] if not first else []
            added = [k for k in fresh if k not in current]
            for key in fresh:
                if key not in current:
                    continue
                before = frame.iloc[current[key]]
                for column, value in fresh[key].items():
                    old = before[column]
                    if not _same(old, value):
                        log_rows.append(
                            {
                                "time": now,
                                "moref": key,
                                "row": _label(fresh[key]),
                                "column": column,
                                "before": _text(old),
                                "after": _text(value),
                                "change": "changed",
                            }
                        )
            if first:
                frame = _typed(self.spec, list(fresh.values()))
            else:
                kept = [frame.iloc[i].to_dict() for k, i in current.items() if k not in gone]
                by_key = {str(r[self.key]): r for r in kept}
                for key, values in fresh.items():
                    by_key[key] = values
                ordered = [by_key[k] for k in current if k in by_key] + [by_key[k] for k in added]
                old_frame, frame = frame, _typed(self.spec, ordered)
                for key in added:
                    log_rows.append(
                        {
                            "time": now,
                            "moref": key,
                            "row": _label(fresh[key]),
                            "column": None,
                            "before": None,
                            "after": None,
                            "change": "added",
                        }
                    )
                for key in gone:
                    old = old_frame.iloc[current[key]].to_dict()
                    log_rows.append(
                        {
                            "time": now,
                            "moref": key,
                            "row": _label(old),
                            "column": None,
                            "before": None,
                            "after": None,
                            "change": "removed",
                        }
                    )
            changes = pd.DataFrame(log_rows, columns=self.changes.columns)
            # The log is published before the frame: a reader that sees a row in ``frame``
            # (other threads read without the lock) finds what brought it there in ``changes``.
            if log_rows:
                self.changes = (
                    changes if self.changes.empty else pd.concat([self.changes, changes], ignore_index=True)
                )
            self.frame = frame
        for callback in list(self._callbacks) if log_rows else []:
            try:
                callback(self, changes)
            except Exception:  # noqa: BLE001 - a broken callback must not end the watch
                log.exception("live table %s: a change callback failed", self.spec.name)

    def subscribe(self, callback: Callable[[LiveTable, pd.DataFrame], None]) -> None:
        """Call ``callback(live, changes)`` after each batch that changed something (widgets do)."""
        self._callbacks.append(callback)


def _typed(spec: TableSpec, records: list[dict[str, Any]]) -> pd.DataFrame:
    """The table's typed frame for ``records`` (column name -> value), in the given order."""
    import pandas as pd

    from ._frame import _typed as typed

    return pd.DataFrame({c.name: typed([r.get(c.name) for r in records], c.dtype) for c in spec.columns})


def _same(old: Any, new: Any) -> bool:
    import pandas as pd

    old_missing = old is None or (not isinstance(old, (list, dict, str)) and pd.isna(old))
    new_missing = new is None or (not isinstance(new, (list, dict, str)) and pd.isna(new))
    if old_missing or new_missing:
        return old_missing and new_missing
    try:
        return bool(old == new)
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    import pandas as pd

    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    return str(value)


def _label(record: dict[str, Any]) -> Any:
    return record.get("name") or record.get("vm") or record.get("domain")
