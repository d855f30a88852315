"""Where a connection points: datacenter, compute resource and host, found as libvirt finds them."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim

from . import errors
from ._collect import children, retrieve
from ._faults import translate

__all__ = ["Location", "resolve_path", "resolve_single_host", "resolve_host_by_ip", "resolve_ip"]


@dataclass(frozen=True)
class Location:
    """The inventory a connection is bound to; ``host`` is None for a vpx:// URI without a host."""

    datacenter: Any | None = None
    datacenter_path: str | None = None
    compute_resource: Any | None = None
    compute_resource_path: str | None = None
    host: Any | None = None
    host_name: str | None = None

    @property
    def resource_pool(self) -> Any | None:
        return self.compute_resource.resourcePool if self.compute_resource is not None else None


def _kind(obj: Any) -> str:
    if isinstance(obj, vim.Folder):
        return "folder"
    if isinstance(obj, vim.Datacenter):
        return "datacenter"
    if isinstance(obj, vim.ClusterComputeResource):
        return "cluster"
    if isinstance(obj, vim.ComputeResource):
        return "host"
    if isinstance(obj, vim.HostSystem):
        return "host"
    return type(obj).__name__


def _listing(found: dict) -> str:
    if not found:
        return "nothing"
    return ", ".join(
        f"{props.get('name')} ({_kind(obj)})"
        for obj, props in sorted(found.items(), key=lambda i: str(i[1].get("name")))
    )


def _child(found: dict, name: str, kinds: tuple[type, ...]) -> Any | None:
    for obj, props in found.items():
        if props.get("name") == name and isinstance(obj, kinds):
            return obj
    return None


def _descend(
    content: Any,
    root: Any,
    items: list[str],
    walked: list[str],
    kind: type,
    what: str,
    path: str,
    *,
    above: list[str] | None = None,
) -> Any | None:
    """Take items off ``items`` (appending them to ``walked``) through folders below ``root``
    until one names a ``kind``; None when the items ran out on a folder.

    ``above`` holds the items walked before ``root``, for the error message.
    """
    while items:
        item = items.pop(0)
        found = children(content, root)
        walked.append(item)
        folder = _child(found, item, (vim.Folder,))
        if folder is not None:
            root = folder
            continue
        obj = _child(found, item, (kind,))
        if obj is None:
            if above is None:
                where = "at " + ("/".join(walked[:-1]) or "the top level")
            else:
                where = "in " + "/".join(above + walked[:-1])
            raise errors.NotFoundError(
                f"could not find {what} or folder {item!r} of path {path!r}; {where} there is: {_listing(found)}"
            )
        return obj
    return None


def resolve_path(content: Any, path_items: tuple[str, ...], *, require_host: bool) -> Location:
    """Resolve ``[folder/...]datacenter/[folder/...][cluster/]server`` from the root folder.

    With ``require_host=False`` the path may stop after the datacenter (or be empty): the
    connection then covers every host below that point.
    """
    path = "/".join(path_items)
    items = list(path_items)
    if not items:
        if require_host:
            raise errors.URIError(
                "a vpx:// path has to specify the datacenter and compute resource, e.g. vpx://vcenter/dc1/host1"
            )
        return Location()
    walked: list[str] = []
    datacenter = _descend(content, content.rootFolder, items, walked, vim.Datacenter, "datacenter", path)
    if datacenter is None:
        raise errors.NotFoundError(f"path {path!r} does not specify a datacenter (only folders)")
    datacenter_path = "/".join(walked)
    if not items:
        if require_host:
            raise errors.URIError(f"path {path!r} does not specify a compute resource")
        return Location(datacenter=datacenter, datacenter_path=datacenter_path)
    with translate("cannot read the datacenter"):
        host_folder = datacenter.hostFolder
    cr_walked: list[str] = []
    compute = _descend(
        content, host_folder, items, cr_walked, vim.ComputeResource, "compute resource", path, above=walked
    )
    if compute is None:
        raise errors.NotFoundError(f"path {path!r} does not specify a compute resource (only folders)")
    props = retrieve(content, [compute], ["host", "resourcePool"])[compute]
    hosts = props.get("host") or []
    host_names = {h: p.get("name") for h, p in retrieve(content, hosts, ["name"]).items()}
    host_name = cr_walked[-1]
    if isinstance(compute, vim.ClusterComputeResource):
        if not items:
            if require_host:
                raise errors.URIError(
                    f"path {path!r} does not specify a host system in cluster {host_name!r}; "
                    f"its hosts: {', '.join(sorted(map(str, host_names.values()))) or 'none'}"
                )
            return Location(datacenter, datacenter_path, compute, "/".join(cr_walked), None, None)
        host_name = items.pop(0)
    if items:
        raise errors.URIError(f"path {path!r} ends with an excess item {items[0]!r}")
    host = next((h for h, name in host_names.items() if name == host_name), None)
    if host is None:
        raise errors.NotFoundError(
            f"could not find host {host_name!r} of path {path!r}; "
            f"hosts there: {', '.join(sorted(map(str, host_names.values()))) or 'none'}"
        )
    return Location(datacenter, datacenter_path, compute, "/".join(cr_walked), host, host_name)


def resolve_single_host(content: Any) -> Location:
    """An ESX/GSX host's own inventory: its one datacenter, compute resource and host."""
    datacenters = [obj for obj in children(content, content.rootFolder) if isinstance(obj, vim.Datacenter)]
    if not datacenters:
        raise errors.NotFoundError("the host shows no datacenter in its inventory")
    datacenter = datacenters[0]
    with translate("cannot read the host inventory"):
        computes = [
            obj for obj in children(content, datacenter.hostFolder) if isinstance(obj, vim.ComputeResource)
        ]
        if not computes:
            raise errors.NotFoundError("the host shows no compute resource in its inventory")
        compute = computes[0]
        hosts = compute.host
        if not hosts:
            raise errors.NotFoundError("the host shows no host system in its inventory")
        names = retrieve(content, [datacenter, compute, hosts[0]], ["name"])
    return Location(
        datacenter,
        names[datacenter]["name"],
        compute,
        names[compute]["name"],
        hosts[0],
        names[hosts[0]]["name"],
    )


def resolve_ip(hostname: str) -> str:
    try:
        return socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)[0][4][0]
    except (socket.gaierror, UnicodeError) as exc:
        raise errors.ConnectionFailedError(f"cannot resolve host name {hostname!r}: {exc}") from None


def resolve_host_by_ip(content: Any, ip_address: str, *, server: str) -> Location:
    """The host with this IP address in a vCenter's inventory (libvirt's FindByIp look-up)."""
    with translate(f"cannot look up {ip_address} in vCenter {server}"):
        host = content.searchIndex.FindByIp(datacenter=None, ip=ip_address, vmSearch=False)
    if host is None:
        raise errors.NotFoundError(f"vCenter {server} manages no host with IP address {ip_address}")
    with translate("cannot read the host's place in the vCenter inventory"):
        compute = host.parent
        datacenter = compute.parent
        while not isinstance(datacenter, vim.Datacenter):
            datacenter = datacenter.parent
        names = retrieve(content, [datacenter, compute, host], ["name"])
    return Location(
        datacenter, names[datacenter]["name"], compute, names[compute]["name"], host, names[host]["name"]
    )
