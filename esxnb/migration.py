"""Migrating a domain to another host through the vCenter managing both (spec: "Migration").

A host cannot migrate on its own: the move is a vCenter relocation task. The source and the
destination connection must each know that vCenter (a ``vpx://vc/dc/host`` URI, or
``esx://host/?vcenter=*`` / ``?vcenter=HOST``), and it must be the same one. Everything is
checked before anything moves; afterwards the domain's host is read back from the server.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from . import errors
from ._collect import retrieve
from ._faults import fault_message, translate
from ._location import resolve_ip
from .credentials import AuthSource
from .tasks import Progress, prepare_vm_for_task, wait_for_task
from .uri import URI, parse_uri

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["MigrationMixin", "MigrationResult", "MigrationTimeoutError", "migrate_command"]

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


class MigrationTimeoutError(errors.MigrationError, errors.TaskTimeoutError):
    """The relocation task did not finish in time (it may still be running on the vCenter)."""


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
        new_name: str | None = None,
        auth: AuthSource = None,
        ca_file: str | None = None,
    ) -> MigrationResult:
        """Migrate ``domain`` (name, uuid or Domain) to the host ``destination`` points at.

        ``destination`` is a Connection or a URI; a URI is opened with ``auth`` and
        ``ca_file`` (the source's credentials are not kept, so they cannot be reused) and
        closed afterwards. ``progress(percent, message)`` follows the relocation task;
        ``timeout`` bounds it in seconds. Renaming (``new_name``) is not supported, as in libvirt.
        """
        source: Connection = self  # type: ignore[assignment]
        if new_name is not None:
            raise errors.MigrationError(
                f"renaming domains on migration is not supported (new_name={new_name!r}); "
                "migrate first, then rename the domain"
            )
        _require_vcenter(source, "source")
        if isinstance(destination, (str, URI)):
            uri = destination if isinstance(destination, URI) else parse_uri(destination)
            _require_vcenter_parameter(uri, "destination")
            from .connection import connect

            with connect(uri, auth=auth, ca_file=ca_file, timeout=source.session.timeout) as opened:
                return _migrate(source, domain, opened, progress, timeout)
        return _migrate(source, domain, destination, progress, timeout)


def migrate_command(
    domain: str,
    source_uri: str,
    destination_uri: str,
    *,
    auth: AuthSource = None,
    ca_file: str | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
) -> MigrationResult:
    """``esxnb migrate DOMAIN SRC_URI DST_URI``: open both ends, migrate, close both.

    ``auth`` answers every credential request; a callback receives the host name as the
    challenge, so it can answer a host and its vCenter differently.
    """
    from .connection import connect

    source_parsed = parse_uri(source_uri)
    destination_parsed = parse_uri(destination_uri)
    _require_vcenter_parameter(source_parsed, "source")
    _require_vcenter_parameter(destination_parsed, "destination")
    with connect(source_parsed, auth=auth, ca_file=ca_file) as source:
        with connect(destination_parsed, auth=auth, ca_file=ca_file) as destination:
            return source.migrate(domain, destination, progress=progress, timeout=timeout)


# -- checks before anything moves ---------------------------------------------------------


def _require_vcenter_parameter(uri: URI, side: str) -> None:
    """Refuse, before connecting, a URI that cannot lead to a vCenter."""
    if uri.scheme != "vpx" and uri.vcenter is None:
        raise errors.MigrationError(
            f"migration not possible without a vCenter: the {side} URI {uri} names none; {_NO_VCENTER_HINT}"
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


def _plan(source: Connection, domain: Any, destination: Connection) -> _Plan:
    vcenter = _require_vcenter(source, "source")
    destination_vcenter = _require_vcenter(destination, "destination")
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

    if destination_vcenter.host is None:
        raise errors.MigrationError(
            f"the destination {destination.uri} names no host; give the path down to the host, "
            "e.g. vpx://VCENTER/DATACENTER/[CLUSTER/]HOST"
        )
    host = _bind(destination_vcenter.host, vcenter)
    host_props = _read(
        vcenter,
        host,
        ["name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode"],
        f"destination host {destination_vcenter.location.host_name}",
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

    compute = destination_vcenter.compute_resource
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
    source: Connection, domain: Any, destination: Connection, progress: Progress | None, timeout: float | None
) -> MigrationResult:
    plan = _plan(source, domain, destination)
    validated, warnings = _validate(plan)
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
    try:
        wait_for_task(
            plan.vcenter,
            task,
            progress=progress,
            timeout=timeout,
            vm=plan.vm,
            description=description,
            vm_name=plan.name,
        )
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
