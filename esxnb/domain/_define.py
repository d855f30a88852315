"""``define``: register a new domain from domain XML as libvirt's ESX driver does, leaving
nothing half-done when the upload or the registration fails."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import errors
from .._collect import retrieve
from .._faults import translate
from ..conversion import datastore_resolver, domxml_to_native_online
from ..datastore import delete, escape_datastore_item, exists, parse_datastore_path, upload
from ..tasks import Progress, raise_if_cancelled, wait_for_task
from ..vmx import parse_vmx
from ..vmx._safexml import parse_xml
from ..vmx._vmxfile import unescape_hex
from ._handle import Domain
from ._lookup import list_vms
from ._names import display_name, inventory_name, normalize_uuid

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["DefinePlan", "plan_define", "define"]

log = logging.getLogger("esxnb")


@dataclass(frozen=True)
class DefinePlan:
    """Where ``define`` puts a domain: its VMX text and ``[datastore] dir/name.vmx`` path."""

    name: str
    uuid: str | None
    vmx: str
    vmx_path: str
    datastore: str
    directory: str


def _first_file_disk(root: Any) -> str | None:
    """The source of the first file-based hard disk (not a CD-ROM/floppy) in domain XML, as libvirt picks it."""
    for disk in root.findall("./devices/disk"):
        if (disk.get("device") or "disk") != "disk" or (disk.get("type") or "file") != "file":
            continue
        source = disk.find("source")
        file_name = source.get("file") if source is not None else None
        return file_name or ""
    return None


def plan_define(conn: ConnectionLike, xml: str | bytes, *, datastore_hint: str | None = None) -> DefinePlan:
    """Convert ``xml`` and decide where its VMX goes (spec: "Datastore references")."""
    root = parse_xml(xml)
    name_el = root.find("name")
    xml_name = (name_el.text or "").strip() if name_el is not None else ""
    if "\n" in xml_name:
        raise errors.ValidationError(f"the domain <name> {xml_name!r} must not contain a line break")
    resolver = datastore_resolver(conn)
    vmx = domxml_to_native_online(conn, xml, resolver=resolver)
    parsed = parse_vmx(vmx)
    # displayName is written pipe-escaped, then percent-escaped; undo in reverse order
    name = unescape_hex(unescape_hex(parsed.get("displayName") or "", "%"), "|") or xml_name
    if not name:
        raise errors.ValidationError("the domain XML needs a <name>")
    uuid = normalize_uuid(parsed.get("uuid.bios") or "")

    source = _first_file_disk(root)
    if source is None and datastore_hint is None:
        raise errors.ValidationError(
            "the domain XML has no file-based hard disk, so the datastore and directory for its VMX file "
            "cannot be deduced (spec: 'Datastore references'); add one or pass datastore_hint='<datastore>'"
        )
    if source == "":
        raise errors.ValidationError(
            "the first file-based hard disk has no <source file=...>, so the datastore and directory for the "
            "VMX file cannot be deduced"
        )
    escaped = escape_datastore_item(name)
    if source is not None:
        if not source.startswith("["):
            raise errors.ValidationError(
                f"the first file-based hard disk's source {source!r} is not a datastore path '[<datastore>] <path>'; "
                "the VMX file's datastore is deduced from it"
            )
        if not source.lower().endswith(".vmdk"):
            raise errors.ValidationError(
                f"expecting source {source!r} of the first file-based hard disk to be a VMDK image"
            )
        datastore, directory, _ = parse_datastore_path(source)
        if datastore_hint is not None and datastore_hint != datastore:
            log.info(
                "define: using datastore %s of the first hard disk, not the hint %s",
                datastore,
                datastore_hint,
            )
    else:
        datastore, directory = str(datastore_hint), escaped
    known = {d.name for d in resolver.datastores}
    if datastore not in known:
        raise errors.NotFoundError(
            f"datastore {datastore!r} (for the VMX file) does not exist on host {conn.location.host_name}; "
            f"its datastores: {', '.join(sorted(known)) or 'none'}"
        )
    file_part = f"{directory}/{escaped}.vmx" if directory else f"{escaped}.vmx"
    return DefinePlan(name, uuid, vmx, f"[{datastore}] {file_part}", datastore, directory)


def define(
    conn: ConnectionLike,
    xml: str | bytes,
    *,
    datastore_hint: str | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
    cancel_event: threading.Event | None = None,
) -> Domain:
    """Define (register) a new domain from domain XML, as ``virsh define``.

    The VMX goes to the datastore and directory of the first file-based hard disk
    (``datastore_hint`` names the datastore when the XML has none; the directory is then
    the escaped domain name). An existing VMX file, domain name or uuid is refused with
    DomainExistsError. If registration fails or is cancelled (``cancel_event``), the
    uploaded files are removed again.
    """
    host = conn.require_host("define")
    plan = plan_define(conn, xml, datastore_hint=datastore_hint)
    _refuse_existing(conn, plan)
    description = f"registration of domain {plan.name!r}"
    raise_if_cancelled(cancel_event, description)
    if progress is not None:
        progress(0, f"uploading {plan.vmx_path}")
    if exists(conn, plan.vmx_path):
        raise errors.DomainExistsError(
            f"cannot define domain {plan.name!r}: {plan.vmx_path} exists already and is not overwritten"
        )
    directory_path = f"[{plan.datastore}] {plan.directory}" if plan.directory else None
    new_directory = directory_path is not None and not exists(conn, directory_path)
    upload(conn, plan.vmx_path, plan.vmx, overwrite=False)
    task = None
    try:
        with translate(f"cannot register domain {plan.name!r}"):
            props = retrieve(conn.content, [conn.datacenter], ["vmFolder"])[conn.datacenter]
            pool = conn.location.resource_pool
            task = props["vmFolder"].RegisterVM_Task(
                path=plan.vmx_path, name=inventory_name(plan.name), asTemplate=False, pool=pool, host=host
            )
        vm = wait_for_task(
            conn,
            task,
            progress=None if progress is None else (lambda p, m: progress(max(10, p), m)),
            timeout=timeout,
            cancel_event=cancel_event,
            description=description,
        )
    except errors.EsxnbError as exc:
        outcome: Any
        if task is None and isinstance(exc, errors.ConnectionFailedError):
            # RegisterVM_Task's answer was lost, not refused: the server may have registered
            # the domain, and deleting its VMX then would leave a domain without one
            outcome = _registered_after_lost_answer(conn, plan, directory_path if new_directory else None)
        elif task is not None and not _task_failed(conn, task):
            # a timeout or cancel the server refused: the registration may still complete
            outcome = f"the registration may still complete, so {plan.vmx_path} was left in place"
        else:
            outcome = _remove_uploaded(conn, plan.vmx_path, directory_path if new_directory else None)
        if isinstance(outcome, str):
            exc.args = (f"{exc}; {outcome}", *exc.args[1:])
            raise
        log.warning(
            "define: the answer to registering %s was lost, but the server did register it", plan.name
        )
        vm = outcome
    if progress is not None:
        progress(100, f"defined {plan.name}")
    uuid = plan.uuid or str(retrieve(conn.content, [vm], ["config.uuid"]).get(vm, {}).get("config.uuid"))
    return Domain(conn, vm, name=plan.name, uuid=uuid)


def _registered_after_lost_answer(conn: ConnectionLike, plan: DefinePlan, directory_path: str | None) -> Any:
    """The VM the server registered from ``plan.vmx_path`` despite the lost answer, else a text
    saying what happened to the upload (removed, or kept because the server cannot be asked)."""
    try:
        vms = list_vms(conn, ("config.files.vmPathName",), container=conn.datacenter or conn.scope)
    except errors.EsxnbError as exc:
        return (
            f"whether domain {plan.name!r} got registered is unknown (the server cannot be asked: {exc}); "
            f"the uploaded {plan.vmx_path} was kept: once the server answers, look for the domain "
            "and delete that file if it is not there"
        )
    for vm, props in vms.items():
        if props.get("config.files.vmPathName") == plan.vmx_path:
            return vm
    return f"domain {plan.name!r} was not registered; " + _remove_uploaded(
        conn, plan.vmx_path, directory_path
    )


def _task_failed(conn: ConnectionLike, task: Any) -> bool:
    """True when the server says ``task`` ended in error (failed or cancelled)."""
    try:
        state = retrieve(conn.content, [task], ["info.state"]).get(task, {}).get("info.state")
    except errors.EsxnbError:
        return False
    return str(state) == "error"


def _remove_uploaded(conn: ConnectionLike, vmx_path: str, directory_path: str | None) -> str:
    """Delete what define uploaded; the text says what happened."""
    target = directory_path or vmx_path
    try:
        delete(conn, target)
    except errors.EsxnbError as exc:
        log.error("define: could not remove %s after the failed registration: %s", target, exc)
        return f"the uploaded {target} could not be removed ({exc}); remove it by hand"
    return f"the uploaded {target} was removed again"


def _refuse_existing(conn: ConnectionLike, plan: DefinePlan) -> None:
    """DomainExistsError when the datacenter already has a domain with this name or uuid."""
    container = conn.datacenter or conn.scope
    vms = list_vms(conn, ("name", "config.uuid"), container=container)
    for props in vms.values():
        name = display_name(str(props.get("name", "")))
        uuid = normalize_uuid(str(props.get("config.uuid") or ""))
        if plan.uuid is not None and uuid == plan.uuid:
            raise errors.DomainExistsError(
                f"cannot define domain {plan.name!r}: domain {name!r} already has uuid {plan.uuid} "
                "(editing existing domains is not supported; undefine it first)"
            )
        if name == plan.name:
            raise errors.DomainExistsError(
                f"cannot define domain {plan.name!r}: a domain with that name exists already (uuid {uuid}); "
                "editing existing domains is not supported, undefine it first"
            )
