"""Migrating a domain to another host through the vCenter managing both (spec: "Migration").

A host cannot migrate on its own: the move is a vCenter relocation task. The source and the
destination connection must each know that vCenter (a ``vpx://vc/dc/host`` URI, or
``esx://host/?vcenter=*`` / ``?vcenter=HOST``), and it must be the same one. The destination
may also be named by a host name or vpx path inside the source's vCenter, resolved on the
source's vCenter session. Everything is checked before anything moves; afterwards the
domain's host is read back from the server.
"""

from __future__ import annotations

import difflib
import http.client
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from pyVmomi import vim, vmodl

from . import errors
from .errors import MigrationCancelledError, MigrationTimeoutError, TaskCancelledError
from ._collect import in_view, retrieve
from ._faults import fault_message, to_esxnb_error, translate
from ._location import Location, resolve_ip, resolve_path
from .credentials import AuthSource
from .tasks import Progress, prepare_vm_for_task, raise_if_cancelled, wait_for_task
from .uri import URI, parse_uri

if TYPE_CHECKING:
    import pandas as pd

    from .connection import Connection

__all__ = [
    "MigrationMixin",
    "MigrationResult",
    "MigrationTimeoutError",
    "MigrationCancelledError",
    "migrate_command",
    "find_destination_host",
]

log = logging.getLogger("esxnb")

# The warning kinds of ValidateMigration's events (they share no base class but MigrationEvent).
_WARNING_EVENTS = (
    vim.event.MigrationWarningEvent,
    vim.event.MigrationHostWarningEvent,
    vim.event.MigrationResourceWarningEvent,
)

# Faults meaning "this server cannot validate migrations", not "this migration is wrong".
_NO_VALIDATION = (vmodl.fault.MethodNotFound, vmodl.fault.NotImplemented, vmodl.fault.NotSupported)

_NO_VCENTER_HINT = (
    "use a vpx://VCENTER/DATACENTER/[CLUSTER/]HOST URI, or add ?vcenter=* (the vCenter managing the "
    "host) or ?vcenter=VCENTER to the esx:// URI"
)


@dataclass(frozen=True)
class MigrationResult:
    """A finished migration. ``validated`` tells whether the vCenter checked it beforehand
    (``ServiceInstance.ValidateMigration``); ``warnings`` are that check's warnings."""

    domain: str
    source_host: str
    destination_host: str
    duration_s: float
    uuid: str = ""
    validated: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Target:
    """The destination as its own side names it; ``host`` is None when it names no host."""

    vcenter: Connection  # the vCenter through which the destination was found
    host: Any | None
    host_name: str | None
    compute_resource: Any | None  # None: the host's parent
    label: str  # how messages name the destination


@dataclass(frozen=True)
class _Plan:
    """Everything resolved, on the source's vCenter session, before the move."""

    vcenter: Connection
    vm: Any
    name: str
    uuid: str
    source_host_name: str
    destination_host: Any
    destination_host_name: str
    pool: Any


class MigrationMixin:
    """``Connection.migrate``: move a domain from this connection's host to another's."""

    def migrate(
        self,
        domain: Any,
        destination: Connection | URI | str,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
        new_name: str | None = None,
        auth: AuthSource = None,
        ca_file: str | None = None,
    ) -> MigrationResult:
        """Migrate ``domain`` (name, uuid or Domain) to the host ``destination`` points at.

        ``destination`` is one of:

        - a host name (``"DC0_C0_H1"``) or vpx path (``"DC0/DC0_C0/DC0_C0_H1"``) in the
          source's own vCenter, looked up on the source's vCenter session (no new login);
        - a Connection;
        - a URI (``vpx://...`` or ``esx://...?vcenter=...``), opened with ``auth`` and
          ``ca_file`` (the source's credentials are not kept, so they cannot be reused) and
          closed afterwards.

        ``progress(percent, message)`` follows the relocation task; ``timeout`` bounds it in
        seconds; once ``cancel_event`` is set the task is cancelled (when the vCenter allows
        it) and MigrationCancelledError raised. Renaming (``new_name``) is not supported, as
        in libvirt.
        """
        source: Connection = self  # type: ignore[assignment]
        if new_name is not None:
            raise errors.MigrationError(
                f"renaming domains on migration is not supported (new_name={new_name!r}); "
                "migrate first, then rename the domain"
            )
        vcenter = _require_vcenter(source, "source")
        if isinstance(destination, str) and "://" not in destination:
            host, host_name = find_destination_host(vcenter, destination)
            target = _Target(vcenter, host, host_name, None, f"host {host_name}")
            return _migrate(source, domain, target, progress, timeout, cancel_event)
        if isinstance(destination, (str, URI)):
            uri = destination if isinstance(destination, URI) else parse_uri(destination)
            _require_vcenter_parameter(uri, "destination")
            from .connection import connect

            with connect(uri, auth=auth, ca_file=ca_file, timeout=source.session.timeout) as opened:
                return _migrate(source, domain, _target_of(opened), progress, timeout, cancel_event)
        return _migrate(source, domain, _target_of(destination), progress, timeout, cancel_event)

    def migration_destinations(self) -> pd.DataFrame:
        """The hosts of the managing vCenter a domain here could move to, as ``hosts()`` rows.

        Every host of the vCenter connection's datacenter (of the whole vCenter when it names
        none), the source host included; ``name`` or ``path`` of a row is a valid
        ``destination`` for :meth:`migrate`. Read on the vCenter's session.
        """
        vcenter = _require_vcenter(self, "source")  # type: ignore[arg-type]
        return _datacenter_view(vcenter).hosts()  # type: ignore[attr-defined]  # InventoryMixin


def migrate_command(
    domain: str,
    source_uri: str,
    destination_uri: str,
    *,
    auth: AuthSource = None,
    ca_file: str | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
    cancel_event: threading.Event | None = None,
) -> MigrationResult:
    """``esxnb migrate DOMAIN SRC_URI DST``: open both ends, migrate, close both.

    ``DST`` is a URI, or a host name / vpx path in the source's vCenter (then only the
    source is opened). ``auth`` answers every credential request; a callback receives the
    host name as the challenge, so it can answer a host and its vCenter differently.
    """
    from .connection import connect

    source_parsed = parse_uri(source_uri)
    _require_vcenter_parameter(source_parsed, "source")
    kwargs: dict[str, Any] = {"progress": progress, "timeout": timeout, "cancel_event": cancel_event}
    if "://" not in destination_uri:
        with connect(source_parsed, auth=auth, ca_file=ca_file) as source:
            return source.migrate(domain, destination_uri, **kwargs)
    destination_parsed = parse_uri(destination_uri)
    _require_vcenter_parameter(destination_parsed, "destination")
    with connect(source_parsed, auth=auth, ca_file=ca_file) as source:
        with connect(destination_parsed, auth=auth, ca_file=ca_file) as destination:
            return source.migrate(domain, destination, **kwargs)


# -- destinations named inside the source's vCenter --------------------------------------------


def find_destination_host(vcenter: Connection, text: str) -> tuple[Any, str]:
    """``(HostSystem, name)`` for a host name or vpx path (``DC/[folder/]CLUSTER/HOST``,
    ``DC/HOST``) in ``vcenter``'s inventory.

    NotFoundError lists close host names when a name is unknown; an ambiguous name (the same
    host name in several places) is a ValidationError listing the paths to choose from.
    """
    wanted = text.strip().strip("/")
    if not wanted:
        raise errors.ValidationError(
            "the migration destination is empty: give a host name, a vpx path or a URI"
        )
    if "/" in wanted:
        return _host_by_path(vcenter, wanted)
    found = _all_hosts(vcenter)
    matches = [host for host, name in found.items() if name == wanted]
    if not matches:  # host names are DNS names, where case does not count
        matches = [host for host, name in found.items() if name.lower() == wanted.lower()]
    if len(matches) == 1:
        return matches[0], found[matches[0]]
    where = f"vCenter {vcenter.session.hostname}"
    if not matches:
        names = sorted(set(found.values()))
        suggestions = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
        hint = "" if suggestions else f"; its hosts: {', '.join(names) or 'none'}"
        raise errors.NotFoundError(f"{where} has no host called {wanted!r}{hint}", suggestions=suggestions)
    paths = sorted(_host_path(vcenter, host) for host in matches)
    raise errors.ValidationError(
        f"{len(matches)} hosts of {where} are called {wanted!r}: {', '.join(paths)}; "
        "give the path of the one you mean as destination"
    )


def _host_by_path(vcenter: Connection, path: str) -> tuple[Any, str]:
    raw = tuple(item for item in path.split("/") if item)
    unescaped = tuple(unquote(item) for item in raw)
    try:
        location = resolve_path(vcenter.content, raw, require_host=True)
    except errors.NotFoundError:
        if unescaped == raw:
            raise
        # written as in a URI, with %-escapes
        location = resolve_path(vcenter.content, unescaped, require_host=True)
    except errors.URIError as exc:
        raise errors.ValidationError(f"destination path {path!r} names no host: {exc}") from None
    return location.host, str(location.host_name)


def _all_hosts(vcenter: Connection) -> dict[Any, str]:
    """``{HostSystem: name}`` of every host the vCenter manages, from one container view."""
    content = vcenter.content
    names = in_view(
        content,
        content.rootFolder,
        vim.HostSystem,
        ["name"],
        context=f"listing the hosts of vCenter {vcenter.session.hostname}",
    )
    return {host: str(props.get("name")) for host, props in names.items()}


def _host_path(vcenter: Connection, host: Any) -> str:
    """The vpx path of ``host`` (``DC/[folder/]COMPUTE[/HOST]``), as in ``hosts()``'s ``path``."""
    content = vcenter.content
    chain: list[tuple[Any, str]] = []
    obj = host
    with translate("reading where a host is in the inventory"):
        while obj is not None and obj != content.rootFolder:
            props = retrieve(content, [obj], ["name", "parent"]).get(obj, {})
            chain.append((obj, str(props.get("name"))))
            obj = props.get("parent")
    names = [name for _obj, name in reversed(chain)]  # top folder ... datacenter, "host" folder, ...
    kinds = [type(obj) for obj, _name in reversed(chain)]
    dc_index = next((i for i, kind in enumerate(kinds) if issubclass(kind, vim.Datacenter)), None)
    if dc_index is None:
        return chain[0][1]
    items = names[: dc_index + 1] + names[dc_index + 2 :]  # without the datacenter's host folder
    compute = chain[1][0] if len(chain) > 1 else None
    if not isinstance(compute, vim.ClusterComputeResource) and len(items) > 1:
        items = items[:-1]  # a standalone host is named by its compute resource
    return "/".join(items)


def _datacenter_view(vcenter: Connection) -> Connection:
    """A Connection on ``vcenter``'s session scoped to its datacenter (or the whole inventory).

    Shares the session: never closed, it must not log the vCenter out.
    """
    from .connection import Connection

    dc_path = vcenter.datacenter_path or ""
    location = Location(datacenter=vcenter.datacenter, datacenter_path=vcenter.datacenter_path)
    path = "/" + "/".join(quote(item, safe="") for item in dc_path.split("/") if item)
    return Connection(vcenter.uri.replace(path=path), vcenter.session, location)


# -- checks before anything moves ---------------------------------------------------------


def _require_vcenter_parameter(uri: URI, side: str) -> None:
    """Refuse, before connecting, a URI that cannot lead to a vCenter."""
    if uri.scheme != "vpx" and uri.vcenter is None:
        raise errors.MigrationError(
            f"migration not possible without a vCenter: the {side} URI {uri} names none; {_NO_VCENTER_HINT}"
        )


def _target_of(destination: Connection) -> _Target:
    vcenter = _require_vcenter(destination, "destination")
    return _Target(
        vcenter,
        vcenter.host,
        vcenter.location.host_name,
        vcenter.compute_resource,
        f"destination {destination.uri}",
    )


def _require_vcenter(conn: Connection, side: str) -> Connection:
    vcenter = conn.vcenter
    if vcenter is None:
        raise errors.MigrationError(
            f"migration not possible without a vCenter: the {side} connection {conn.uri} has none; {_NO_VCENTER_HINT}"
        )
    return vcenter


def _vcenter_label(vcenter: Connection) -> str:
    about = vcenter.session.about
    return f"{vcenter.session.hostname}:{vcenter.session.port} (instance {about.instanceUuid or 'unknown'})"


def _same_vcenter(a: Connection, b: Connection) -> bool:
    """Same server: the same address (as libvirt compares) and, when both report one, the same
    instance UUID (a different server reached at a recycled address is not the same vCenter)."""
    if a.session is b.session:
        return True
    uuid_a, uuid_b = a.session.about.instanceUuid, b.session.about.instanceUuid
    if uuid_a and uuid_b and uuid_a != uuid_b:
        return False
    return (resolve_ip(a.session.hostname), a.session.port) == (
        resolve_ip(b.session.hostname),
        b.session.port,
    )


def _identify(source: Connection, domain: Any) -> tuple[str, str]:
    """(name, BIOS uuid) of the domain as the source connection sees it."""
    if isinstance(domain, str):
        found = source.domain(domain)  # type: ignore[attr-defined]  # OperationsMixin
        return found.name, found.uuid
    name, uuid = getattr(domain, "name", None), getattr(domain, "uuid", None)
    if not uuid:
        raise errors.ValidationError(
            f"domain must be a name, a uuid or a Domain, not {type(domain).__name__}"
        )
    return str(name), str(uuid)


def _bind(obj: Any, vcenter: Connection) -> Any:
    """The same managed object, addressed through ``vcenter``'s session."""
    return type(obj)(obj._moId, vcenter.si._stub)


def _read(vcenter: Connection, obj: Any, properties: list[str], what: str) -> dict:
    try:
        found = retrieve(vcenter.content, [obj], properties)
    except errors.NotFoundError:
        found = {}
    if obj not in found:
        raise errors.MigrationError(f"{what} ({obj._moId}) is unknown to vCenter {vcenter.session.hostname}")
    return found[obj]


def _plan(source: Connection, domain: Any, target: _Target) -> _Plan:
    vcenter = _require_vcenter(source, "source")
    destination_vcenter = target.vcenter
    if not _same_vcenter(vcenter, destination_vcenter):
        raise errors.MigrationError(
            "migration source and destination have to be managed by the same vCenter: "
            f"the source's is {_vcenter_label(vcenter)}, the destination's is {_vcenter_label(destination_vcenter)}"
        )
    name, uuid = _identify(source, domain)

    with translate(f"cannot look up domain {name} in vCenter {vcenter.session.hostname}"):
        vm = vcenter.content.searchIndex.FindByUuid(datacenter=vcenter.datacenter, uuid=uuid, vmSearch=True)
    if vm is None:
        raise errors.NotFoundError(
            f"vCenter {vcenter.session.hostname} has no domain with uuid {uuid} ({name})"
        )
    # As libvirt before any VM task: answer or report a pending question, refuse while other tasks run.
    vm_props = prepare_vm_for_task(vcenter, vm, ("runtime.host",), vm_name=name)
    current_host = vm_props.get("runtime.host")
    if current_host is None:
        raise errors.MigrationError(
            f"domain {name} runs on no host according to vCenter {vcenter.session.hostname}"
        )
    if vcenter.host is not None and current_host._moId != vcenter.host._moId:
        raise errors.NotFoundError(
            f"domain {name} is not on the source host {vcenter.location.host_name}: "
            f"vCenter {vcenter.session.hostname} shows it on {_host_name(vcenter, current_host)}"
        )
    source_host_name = _host_name(vcenter, current_host)

    if target.host is None:
        raise errors.MigrationError(
            f"the {target.label} names no host; give the path down to the host, "
            "e.g. vpx://VCENTER/DATACENTER/[CLUSTER/]HOST"
        )
    host = _bind(target.host, vcenter)
    host_props = _read(
        vcenter,
        host,
        ["name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode"],
        f"destination host {target.host_name}",
    )
    host_name = host_props["name"]
    if host._moId == current_host._moId:
        raise errors.MigrationError(
            f"domain {name} is already on {host_name}: source and destination host are the same"
        )
    state = host_props.get("runtime.connectionState")
    if state != "connected":
        raise errors.MigrationError(f"the destination host {host_name} is {state}, not connected")
    if host_props.get("runtime.inMaintenanceMode"):
        raise errors.MigrationError(f"the destination host {host_name} is in maintenance mode")

    compute = target.compute_resource
    compute = _bind(compute, vcenter) if compute is not None else host_props["parent"]
    pool = _read(vcenter, compute, ["resourcePool"], f"compute resource of {host_name}").get("resourcePool")
    if pool is None:
        raise errors.MigrationError(
            f"the compute resource of destination host {host_name} has no resource pool"
        )
    return _Plan(vcenter, vm, name, uuid, source_host_name, host, host_name, pool)


def _fault_name(fault: BaseException) -> str:
    """``InvalidState`` rather than pyvmomi's ``vim.fault.InvalidState``."""
    return type(fault).__name__.rsplit(".", 1)[-1]


def _host_name(vcenter: Connection, host: Any) -> str:
    try:
        return str(retrieve(vcenter.content, [host], ["name"]).get(host, {}).get("name") or host._moId)
    except errors.EsxnbError:
        return str(host._moId)


def classify_validation_events(events: list[Any] | None) -> tuple[list[str], list[str]]:
    """(problems, warnings) from ``ValidateMigration``'s events, each as the server's text.

    Warning events are warnings; every other event is a problem, as libvirt treats them.
    """
    problems: list[str] = []
    warnings: list[str] = []
    for event in events or []:
        text = getattr(event, "fullFormattedMessage", None) or ""
        fault = getattr(getattr(event, "fault", None), "fault", None)
        if not text and fault is not None:
            text = fault_message(fault)
        text = text or type(event).__name__
        (warnings if isinstance(event, _WARNING_EVENTS) else problems).append(text)
    return problems, warnings


def _validate(plan: _Plan) -> tuple[bool, tuple[str, ...]]:
    """The vCenter's own check of the move; (validated, warnings). Problems raise."""
    refused = f"the vCenter refused to migrate {plan.name} to {plan.destination_host_name}"
    with translate(f"cannot validate the migration of {plan.name}"):
        try:
            events = plan.vcenter.si.ValidateMigration(
                vm=[plan.vm], state=None, testType=None, pool=plan.pool, host=plan.destination_host
            )
        except _NO_VALIDATION as exc:
            log.info(
                "vCenter %s cannot validate migrations (%s); relying on the relocation task's own checks",
                plan.vcenter.session.hostname,
                _fault_name(exc),
            )
            return False, ()
        except vmodl.MethodFault as exc:
            raise errors.MigrationError(f"{refused}: {fault_message(exc)} ({_fault_name(exc)})") from exc
    problems, warnings = classify_validation_events(events)
    if problems:
        raise errors.MigrationError(f"{refused}: {'; '.join(problems)}")
    for warning in warnings:
        log.warning("migration of %s: %s", plan.name, warning)
    return True, tuple(warnings)


# -- the move ---------------------------------------------------------------------------------


def _migrate(
    source: Connection,
    domain: Any,
    target: _Target,
    progress: Progress | None,
    timeout: float | None,
    cancel_event: threading.Event | None,
) -> MigrationResult:
    plan = _plan(source, domain, target)
    validated, warnings = _validate(plan)
    try:
        raise_if_cancelled(cancel_event, f"migration of {plan.name}")
    except TaskCancelledError as exc:
        raise MigrationCancelledError(f"{exc}; the domain stays on {plan.source_host_name}") from None
    if progress is not None:
        progress(0, f"migrating {plan.name} from {plan.source_host_name} to {plan.destination_host_name}")
    description = f"migration of {plan.name}"
    started = time.monotonic()
    spec = vim.vm.RelocateSpec(host=plan.destination_host, pool=plan.pool)
    with translate(description):
        try:
            task = plan.vm.RelocateVM_Task(spec=spec)
        except vmodl.MethodFault as exc:
            raise errors.MigrationError(
                f"{description} failed: {fault_message(exc)} ({_fault_name(exc)}); {_still_on(plan)}"
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            # the request may have reached vCenter and run: say where the domain is now
            lost = to_esxnb_error(exc, context=f"{description} failed")
            raise errors.MigrationError(
                f"{lost} (the answer was lost; the relocation may have run); {_still_on(plan)}"
            ) from exc
    try:
        wait_for_task(
            plan.vcenter,
            task,
            progress=progress,
            timeout=timeout,
            vm=plan.vm,
            cancel_event=cancel_event,
            description=description,
            vm_name=plan.name,
        )
    except TaskCancelledError as exc:
        raise MigrationCancelledError(
            f"{exc}; {_still_on(plan)}", task=exc.task, server_cancelled=exc.server_cancelled
        ) from exc
    except errors.TaskTimeoutError as exc:
        raise MigrationTimeoutError(
            f"{exc}; the domain is on {_where(plan)} for now", fault_type=exc.fault_type, task=exc.task
        ) from exc
    except errors.EsxnbError as exc:
        raise errors.MigrationError(f"{exc}; {_still_on(plan)}") from exc
    duration = time.monotonic() - started

    now_on = _current_host(plan)
    if now_on is None or now_on._moId != plan.destination_host._moId:
        where = _host_name(plan.vcenter, now_on) if now_on is not None else "no host"
        raise errors.MigrationError(
            f"the relocation task of {plan.name} succeeded, but vCenter {plan.vcenter.session.hostname} "
            f"shows the domain on {where}, not on {plan.destination_host_name}"
        )
    return MigrationResult(
        domain=plan.name,
        source_host=plan.source_host_name,
        destination_host=plan.destination_host_name,
        duration_s=round(duration, 3),
        uuid=plan.uuid,
        validated=validated,
        warnings=warnings,
    )


def _current_host(plan: _Plan) -> Any | None:
    return retrieve(plan.vcenter.content, [plan.vm], ["runtime.host"]).get(plan.vm, {}).get("runtime.host")


def _where(plan: _Plan) -> str:
    try:
        host = _current_host(plan)
    except errors.EsxnbError as exc:
        return f"an unknown host (cannot read it back: {exc})"
    return _host_name(plan.vcenter, host) if host is not None else "no host"


def _still_on(plan: _Plan) -> str:
    """Where a failed migration left the domain, read from the server."""
    where = _where(plan)
    if where == plan.source_host_name:
        return f"the domain is still on {where}"
    return f"the domain is now on {where}"
