"""Who did what, when: events and tasks as DataFrames, read through history collectors.

``events()`` builds an ``EventFilterSpec`` from its arguments (time, users, entity with
recursion, event types or libvirt-ish aliases), reads the collector in pages of 1,000 with
``ReadNextEvents`` and destroys it afterwards; ``tasks()`` does the same with a
``TaskHistoryCollector``; ``recent_tasks()`` reads the task manager's recent list in one call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from . import errors
from ._collect import retrieve
from ._faults import translate
from ._protocol import Facet

if TYPE_CHECKING:
    import pandas as pd

    from ._protocol import ConnectionLike

__all__ = ["EventsFacet", "EVENT_ALIASES", "PAGE"]

PAGE = 1000
#: Short names for families of event classes.
EVENT_ALIASES: dict[str, tuple[str, ...]] = {
    "power": (
        "VmPoweredOnEvent",
        "VmPoweredOffEvent",
        "VmSuspendedEvent",
        "VmResettingEvent",
        "VmStartingEvent",
        "VmStoppingEvent",
        "VmGuestShutdownEvent",
        "VmGuestRebootEvent",
        "VmGuestStandbyEvent",
    ),
    "migration": (
        "VmMigratedEvent",
        "DrsVmMigratedEvent",
        "VmRelocatedEvent",
        "VmBeingMigratedEvent",
        "VmBeingRelocatedEvent",
        "VmBeingHotMigratedEvent",
        "VmEmigratingEvent",
    ),
    "config": ("VmReconfiguredEvent", "VmRenamedEvent"),
    "lifecycle": (
        "VmCreatedEvent",
        "VmRegisteredEvent",
        "VmRemovedEvent",
        "VmClonedEvent",
        "VmDeployedEvent",
    ),
    "login": ("UserLoginSessionEvent", "UserLogoutSessionEvent", "BadUsernameSessionEvent"),
    "snapshot": ("TaskEvent",),  # vSphere records snapshot operations as task events
}
_TASK_STATES = ("queued", "running", "success", "error")
_EVENT_COLUMNS = [
    "time",
    "type",
    "category",
    "user",
    "entity",
    "entity_type",
    "datacenter",
    "cluster",
    "host",
    "vm",
    "message",
    "chain_id",
    "key",
]
_TASK_COLUMNS = [
    "name",
    "entity",
    "entity_type",
    "state",
    "progress",
    "queued",
    "started",
    "completed",
    "duration_s",
    "user",
    "error",
    "key",
    "moref",
]


def _event_types(types: Iterable[str] | None) -> tuple[list[str], bool]:
    """The event class names for ``types`` and whether only snapshot task events are wanted."""
    if types is None:
        return [], False
    names: list[str] = []
    snapshot = False
    for item in [types] if isinstance(types, str) else types:
        if item in EVENT_ALIASES:
            names.extend(EVENT_ALIASES[item])
            snapshot = snapshot or item == "snapshot"
        elif isinstance(item, str) and item[:1].isupper():
            names.append(item)
        else:
            raise errors.ValidationError(
                f"unknown event type {item!r}: give event class names (VmPoweredOffEvent...) or one of "
                + ", ".join(EVENT_ALIASES)
            )
    return list(dict.fromkeys(names)), snapshot


def _entity(conn: ConnectionLike, entity: Any) -> Any:
    """The managed object to filter on: a name (VM or host), a Domain, a pyVmomi object; None:
    the connection's scope."""
    if entity is None:
        return conn.scope
    if hasattr(entity, "vm"):
        return entity.vm
    if hasattr(entity, "_moId"):
        return entity
    if isinstance(entity, str):
        from ._tables import read_tables
        from .domain._table import DOMAINS
        from .host._table import HOSTS

        frames = read_tables(conn, [DOMAINS, HOSTS])
        for frame, kind in ((frames["domains"], vim.VirtualMachine), (frames["hosts"], vim.HostSystem)):
            match = frame[frame["name"] == entity]
            if len(match):
                return kind(str(match.iloc[0]["moref"]), conn.session.stub)
        raise errors.NotFoundError(f"no VM or host named {entity!r} to read events of")
    raise errors.ValidationError(
        f"cannot take {type(entity).__name__} as an entity: give a name, a Domain or a pyVmomi object"
    )


def _categories(conn: ConnectionLike) -> dict[str, str]:
    memo = conn.memo
    if "event_categories" not in memo:
        with translate("cannot read the event descriptions"):
            infos = conn.content.eventManager.description.eventInfo or []
        memo["event_categories"] = {info.key: info.category for info in infos}
    return memo["event_categories"]


def _name(arg: Any) -> str | None:
    return getattr(arg, "name", None) if arg is not None else None


def _unsupported(exc: errors.EsxnbError, what: str, conn: ConnectionLike) -> errors.EsxnbError:
    if (
        "NotImplemented" in type(exc).__name__
        or "not implemented" in str(exc).lower()
        or "NotSupported" in str(exc)
    ):
        return errors.OperationError(
            f"{conn.uri.hostname} does not keep {what}: connect through the vCenter that manages it (vpx://)"
        )
    return exc


def _time_spec(since: dt.datetime | None, until: dt.datetime | None, cls: Any, **extra: Any) -> Any:
    if since is None and until is None:
        return None
    return cls(beginTime=since, endTime=until, **extra)


class EventsFacet(Facet):
    __slots__ = ()

    def events(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        types: str | Sequence[str] | None = None,
        users: str | Sequence[str] | None = None,
        entity: Any = None,
        recursive: bool = True,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The events the server kept, oldest first: ``time`` (UTC), ``type`` (the event class),
        ``category``, ``user``, ``entity`` / ``entity_type`` (the most specific object named),
        ``datacenter``, ``cluster``, ``host``, ``vm``, ``message``, ``chain_id``, ``key``.

        ``types``: event class names or aliases (power, migration, config, lifecycle, login,
        snapshot); ``entity``: a VM or host name, a Domain, a pyVmomi object (default: the
        connection's scope), with its children unless ``recursive=False``; ``limit``: at most
        this many (the newest).
        """
        import pandas as pd

        conn = self._conn
        names, snapshot_only = _event_types(types)
        user_list = [users] if isinstance(users, str) else list(users or [])
        target = _entity(conn, entity)
        recursion = "all" if recursive else "self"
        spec = vim.event.EventFilterSpec(
            entity=vim.event.EventFilterSpec.ByEntity(entity=target, recursion=recursion),
            time=_time_spec(since, until, vim.event.EventFilterSpec.ByTime),
            userName=vim.event.EventFilterSpec.ByUsername(userList=user_list, systemUser=False)
            if user_list
            else None,
            eventTypeId=names or None,
        )
        manager = conn.content.eventManager
        try:
            with translate("cannot read events"):
                collector = manager.CreateCollectorForEvents(filter=spec)
        except errors.EsxnbError as exc:
            raise _unsupported(exc, "events", conn) from exc
        found = _read_all(collector, collector.ReadNextEvents, "events")
        categories = _categories(conn)
        rows = []
        for event in found:
            kind = type(event).__name__.rsplit(".", 1)[-1]
            if snapshot_only and "napshot" not in str(
                getattr(getattr(event, "info", None), "descriptionId", "")
            ):
                continue
            # defensive: a server that ignores part of the filter still answers what was asked
            if (since and event.createdTime < since) or (until and event.createdTime > until):
                continue
            if user_list and event.userName not in user_list:
                continue
            vm, host = _name(event.vm), _name(event.host)
            cr, dc, ds = _name(event.computeResource), _name(event.datacenter), _name(event.ds)
            entity_name, entity_type = next(
                (
                    (n, t)
                    for n, t in (
                        (vm, "VirtualMachine"),
                        (host, "HostSystem"),
                        (ds, "Datastore"),
                        (cr, "ComputeResource"),
                        (dc, "Datacenter"),
                    )
                    if n
                ),
                (None, None),
            )
            rows.append(
                {
                    "time": event.createdTime,
                    "type": kind,
                    "category": categories.get(kind),
                    "user": event.userName or None,
                    "entity": entity_name,
                    "entity_type": entity_type,
                    "datacenter": dc,
                    "cluster": cr,
                    "host": host,
                    "vm": vm,
                    "message": event.fullFormattedMessage,
                    "chain_id": event.chainId,
                    "key": event.key,
                }
            )
        frame = pd.DataFrame(rows, columns=_EVENT_COLUMNS)
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        frame = frame.sort_values(["time", "key"], ignore_index=True).astype(
            {"chain_id": "Int64", "key": "Int64"}
        )
        if limit is not None:
            frame = frame.tail(limit).reset_index(drop=True)
        return frame

    def tasks(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        users: str | Sequence[str] | None = None,
        entity: Any = None,
        recursive: bool = True,
        states: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The tasks the server kept, oldest first: ``name`` (what ran), ``entity``,
        ``entity_type``, ``state``, ``progress``, ``queued`` / ``started`` / ``completed`` (UTC),
        ``duration_s``, ``user``, ``error``, ``key``, ``moref``. ``since``/``until`` bound the
        time the task was queued; ``states``: queued, running, success, error."""

        conn = self._conn
        wanted_states = [states] if isinstance(states, str) else list(states or [])
        bad = [s for s in wanted_states if s not in _TASK_STATES]
        if bad:
            raise errors.ValidationError(
                f"unknown task state(s) {', '.join(bad)}; states are {', '.join(_TASK_STATES)}"
            )
        user_list = [users] if isinstance(users, str) else list(users or [])
        spec = vim.TaskFilterSpec(
            entity=vim.TaskFilterSpec.ByEntity(
                entity=_entity(conn, entity), recursion="all" if recursive else "self"
            ),
            time=_time_spec(since, until, vim.TaskFilterSpec.ByTime, timeType="queuedTime"),
            userName=vim.TaskFilterSpec.ByUsername(userList=user_list, systemUser=False)
            if user_list
            else None,
            state=wanted_states or None,
        )
        try:
            with translate("cannot read tasks"):
                collector = conn.content.taskManager.CreateCollectorForTasks(filter=spec)
        except errors.EsxnbError as exc:
            raise _unsupported(exc, "a task history", conn) from exc
        found = _read_all(collector, collector.ReadNextTasks, "tasks")
        frame = _task_frame(found)
        if limit is not None:
            frame = frame.tail(limit).reset_index(drop=True)
        return frame

    def recent_tasks(self) -> pd.DataFrame:
        """The tasks the server lists as recent (what the vSphere client's task pane shows)."""
        content = self._conn.content
        with translate("cannot read the recent tasks"):
            refs = list(content.taskManager.recentTask or [])
            infos = [props.get("info") for props in retrieve(content, refs, ["info"]).values()]
        return _task_frame([info for info in infos if info is not None])


def _read_all(collector: Any, read_next: Any, what: str) -> list[Any]:
    """Every item of a history collector, in pages of :data:`PAGE`; the collector destroyed after."""
    found: list[Any] = []
    try:
        while True:
            with translate(f"cannot read {what}"):
                page = read_next(maxCount=PAGE) or []
            found.extend(page)
            if len(page) < PAGE:
                return found
    finally:
        try:
            collector.DestroyCollector()
        except Exception:  # noqa: BLE001 - the session drops it anyway
            pass


def _task_frame(infos: list[Any]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for info in infos:
        started, completed = info.startTime, info.completeTime
        reason = info.reason
        rows.append(
            {
                "name": info.descriptionId or info.name,
                "entity": info.entityName,
                "entity_type": type(info.entity).__name__.rsplit(".", 1)[-1]
                if info.entity is not None
                else None,
                "state": str(info.state),
                "progress": info.progress,
                "queued": info.queueTime,
                "started": started,
                "completed": completed,
                "duration_s": (completed - started).total_seconds() if started and completed else None,
                "user": getattr(reason, "userName", None),
                "error": getattr(info.error, "localizedMessage", None),
                "key": info.key,
                "moref": info.task._moId if info.task is not None else None,
            }
        )
    frame = pd.DataFrame(rows, columns=_TASK_COLUMNS)
    for column in ("queued", "started", "completed"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values(["queued", "key"], ignore_index=True).astype(
        {"progress": "Int64", "duration_s": "Float64"}
    )
