"""Finding domains: by name or BIOS UUID, within the connection's scope."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from .. import errors
from .._collect import in_view, retrieve
from .._faults import translate
from ._handle import Domain
from ._names import display_name, normalize_uuid

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["find_domain", "list_vms"]


def list_vms(
    conn: ConnectionLike, properties: tuple[str, ...] = ("name", "config.uuid"), *, container: Any = None
) -> dict[Any, dict[str, Any]]:
    """``{vm: {path: value}}`` for every VM in the connection's scope (or ``container``), one container view."""
    container = container if container is not None else conn.scope
    return in_view(conn.content, container, vim.VirtualMachine, properties, context="listing domains")


def find_domain(conn: ConnectionLike, name_or_uuid: str) -> Domain:
    """The domain called ``name_or_uuid`` (a name or a BIOS UUID) in the connection's scope."""
    if not isinstance(name_or_uuid, str) or not name_or_uuid:
        raise errors.ValidationError(f"a domain is named by a non-empty name or uuid, not {name_or_uuid!r}")
    wanted_uuid = normalize_uuid(name_or_uuid)
    if wanted_uuid is not None:
        found = _by_uuid_index(conn, wanted_uuid)
        if found is not None:
            return found
    vms = list_vms(conn)
    if wanted_uuid is not None:
        matches = [
            vm for vm, p in vms.items() if normalize_uuid(str(p.get("config.uuid") or "")) == wanted_uuid
        ]
        if len(matches) == 1:
            vm = matches[0]
            return Domain(conn, vm, name=display_name(str(vms[vm].get("name", ""))), uuid=wanted_uuid)
        if len(matches) > 1:
            names = sorted(display_name(str(vms[vm].get("name", ""))) for vm in matches)
            raise errors.ValidationError(
                f"several domains share uuid {wanted_uuid}: {', '.join(names)}; name one of them"
            )
    by_name: dict[str, list[Any]] = {}
    for vm, props in vms.items():
        by_name.setdefault(display_name(str(props.get("name", ""))), []).append(vm)
    matches = by_name.get(name_or_uuid) or by_name.get(display_name(name_or_uuid)) or []
    if len(matches) > 1:
        uuids = sorted(str(vms[vm].get("config.uuid")) for vm in matches)
        raise errors.ValidationError(
            f"several domains are called {name_or_uuid!r} (uuids {', '.join(uuids)}); name one by its uuid"
        )
    if matches:
        vm = matches[0]
        return Domain(conn, vm, name=display_name(str(vms[vm].get("name", ""))), uuid=_uuid_of(vms[vm]))
    where = conn.location.host_name or conn.datacenter_path or conn.session.hostname
    suggestions = difflib.get_close_matches(name_or_uuid, list(by_name), n=3, cutoff=0.6)
    kind = "uuid" if wanted_uuid is not None else "name"
    raise errors.NotFoundError(f"no domain with {kind} {name_or_uuid!r} on {where}", suggestions=suggestions)


def _by_uuid_index(conn: ConnectionLike, uuid: str) -> Domain | None:
    """The quick way for a UUID: the server's SearchIndex, when its answer lies in the scope.

    None sends the caller to the full listing (no match, or a match outside the scope that
    may hide another VM with the same BIOS UUID inside it).
    """
    with translate(f"looking up domain {uuid}"):
        vm = conn.content.searchIndex.FindByUuid(datacenter=conn.datacenter, uuid=uuid, vmSearch=True)
    if vm is None:
        return None
    try:
        props = retrieve(conn.content, [vm], ["name", "config.uuid", "runtime.host"]).get(vm)
    except errors.NotFoundError:
        return None
    if props is None or normalize_uuid(str(props.get("config.uuid") or "")) != uuid:
        return None
    host = props.get("runtime.host")
    if conn.host is not None:
        if host is None or host._moId != conn.host._moId:
            return None
    elif conn.compute_resource is not None:
        hosts = (
            retrieve(conn.content, [conn.compute_resource], ["host"])
            .get(conn.compute_resource, {})
            .get("host")
        )
        if host is None or host._moId not in {h._moId for h in hosts or []}:
            return None
    return Domain(conn, vm, name=display_name(str(props.get("name", ""))), uuid=uuid)


def _uuid_of(props: dict[str, Any]) -> str:
    text = str(props.get("config.uuid") or "")
    return normalize_uuid(text) or text
