"""Migration destinations named inside the source's vCenter: a host name or a vpx path."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pyVmomi import vim

from .. import errors
from .._ancestry import ancestors
from .._collect import in_view
from .._location import resolve_path

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["find_destination_host", "host_path"]


def find_destination_host(vcenter: ConnectionLike, text: str) -> tuple[Any, str]:
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
    paths = sorted(host_path(vcenter, host) for host in matches)
    raise errors.ValidationError(
        f"{len(matches)} hosts of {where} are called {wanted!r}: {', '.join(paths)}; "
        "give the path of the one you mean as destination"
    )


def _host_by_path(vcenter: ConnectionLike, path: str) -> tuple[Any, str]:
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


def _all_hosts(vcenter: ConnectionLike) -> dict[Any, str]:
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


def host_path(vcenter: ConnectionLike, host: Any) -> str:
    """The vpx path of ``host`` (``DC/[folder/]COMPUTE[/HOST]``), as in ``hosts()``'s ``path``."""
    chain = list(reversed(ancestors(vcenter.content, host)))  # top folder ... datacenter, "host" folder, ...
    names = [name for _obj, name in chain]
    dc_index = next((i for i, (obj, _name) in enumerate(chain) if isinstance(obj, vim.Datacenter)), None)
    if dc_index is None:
        return names[-1]
    items = names[: dc_index + 1] + names[dc_index + 2 :]  # without the datacenter's host folder
    compute = chain[-2][0] if len(chain) > 1 else None
    if not isinstance(compute, vim.ClusterComputeResource) and len(items) > 1:
        items = items[:-1]  # a standalone host is named by its compute resource
    return "/".join(items)
