"""Everything checked before a migration moves anything: one vCenter on both sides, the
domain, the destination host's state and pool, and the vCenter's own validation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyVmomi import vim, vmodl

from .. import errors
from .._collect import retrieve
from .._faults import fault_message, translate
from .._location import resolve_ip
from ..domain import find_domain
from ..tasks import prepare_vm_for_task
from ..uri import URI

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = [
    "Target",
    "Plan",
    "plan_migration",
    "validate",
    "classify_validation_events",
    "require_vcenter",
    "require_vcenter_parameter",
    "target_of",
    "name_of_host",
    "fault_name",
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
class Target:
    """The destination as its own side names it; ``host`` is None when it names no host."""

    vcenter: ConnectionLike  # the vCenter through which the destination was found
    host: Any | None
    host_name: str | None
    compute_resource: Any | None  # None: the host's parent
    label: str  # how messages name the destination


@dataclass(frozen=True)
class Plan:
    """Everything resolved, on the source's vCenter session, before the move."""

    vcenter: ConnectionLike
    vm: Any
    name: str
    uuid: str
    source_host_name: str
    destination_host: Any
    destination_host_name: str
    pool: Any


def require_vcenter_parameter(uri: URI, side: str) -> None:
    """Refuse, before connecting, a URI that cannot lead to a vCenter."""
    if uri.scheme != "vpx" and uri.vcenter is None:
        raise errors.MigrationError(
            f"migration not possible without a vCenter: the {side} URI {uri} names none; {_NO_VCENTER_HINT}"
        )


def target_of(destination: ConnectionLike) -> Target:
    vcenter = require_vcenter(destination, "destination")
    return Target(
        vcenter,
        vcenter.host,
        vcenter.location.host_name,
        vcenter.compute_resource,
        f"destination {destination.uri}",
    )


def require_vcenter(conn: ConnectionLike, side: str) -> ConnectionLike:
    vcenter = conn.vcenter
    if vcenter is None:
        raise errors.MigrationError(
            f"migration not possible without a vCenter: the {side} connection {conn.uri} has none; {_NO_VCENTER_HINT}"
        )
    return vcenter


def _vcenter_label(vcenter: ConnectionLike) -> str:
    about = vcenter.session.about
    return f"{vcenter.session.hostname}:{vcenter.session.port} (instance {about.instanceUuid or 'unknown'})"


def _same_vcenter(a: ConnectionLike, b: ConnectionLike) -> bool:
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


def _identify(source: ConnectionLike, domain: Any) -> tuple[str, str]:
    """(name, BIOS uuid) of the domain as the source connection sees it."""
    if isinstance(domain, str):
        found = find_domain(source, domain)
        return found.name, found.uuid
    name, uuid = getattr(domain, "name", None), getattr(domain, "uuid", None)
    if not uuid:
        raise errors.ValidationError(
            f"domain must be a name, a uuid or a Domain, not {type(domain).__name__}"
        )
    return str(name), str(uuid)


def _bind(obj: Any, vcenter: ConnectionLike) -> Any:
    """The same managed object, addressed through ``vcenter``'s session."""
    return type(obj)(obj._moId, vcenter.si._stub)


def _read(vcenter: ConnectionLike, obj: Any, properties: list[str], what: str) -> dict:
    try:
        found = retrieve(vcenter.content, [obj], properties)
    except errors.NotFoundError:
        found = {}
    if obj not in found:
        raise errors.MigrationError(f"{what} ({obj._moId}) is unknown to vCenter {vcenter.session.hostname}")
    return found[obj]


def plan_migration(source: ConnectionLike, domain: Any, target: Target) -> Plan:
    vcenter = require_vcenter(source, "source")
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
            f"vCenter {vcenter.session.hostname} shows it on {name_of_host(vcenter, current_host)}"
        )
    source_host_name = name_of_host(vcenter, current_host)

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
    return Plan(vcenter, vm, name, uuid, source_host_name, host, host_name, pool)


def fault_name(fault: BaseException) -> str:
    """``InvalidState`` rather than pyvmomi's ``vim.fault.InvalidState``."""
    return type(fault).__name__.rsplit(".", 1)[-1]


def name_of_host(vcenter: ConnectionLike, host: Any) -> str:
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


def validate(plan: Plan) -> tuple[bool, tuple[str, ...]]:
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
                fault_name(exc),
            )
            return False, ()
        except vmodl.MethodFault as exc:
            raise errors.MigrationError(f"{refused}: {fault_message(exc)} ({fault_name(exc)})") from exc
    problems, warnings = classify_validation_events(events)
    if problems:
        raise errors.MigrationError(f"{refused}: {'; '.join(problems)}")
    for warning in warnings:
        log.warning("migration of %s: %s", plan.name, warning)
    return True, tuple(warnings)
