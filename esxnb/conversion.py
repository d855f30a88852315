"""VMX <-> domain XML conversion against a live server: the offline converters of
:mod:`esxnb.vmx` given the host's datastores (:class:`~esxnb.datastore.OnlineDatastores`) and
the virtual hardware version the server creates VMs with."""

from __future__ import annotations

import logging
import re
from typing import Any

from . import errors
from ._collect import retrieve
from ._faults import translate
from ._protocol import ConnectionLike, Facet
from .datastore import OnlineDatastores, datastores_of
from .vmx import domxml_from_native, domxml_to_native

__all__ = [
    "ConversionFacet",
    "default_hw_version",
    "virtual_hw_version",
    "datastore_resolver",
    "domxml_from_native_online",
    "domxml_to_native_online",
]

log = logging.getLogger("esxnb")


def default_hw_version(product_line: str | None, version: str | None) -> int:
    """libvirt's default ``virtualHW.version`` for a product line and version (no server query)."""
    parts = [int(p) for p in re.findall(r"\d+", version or "")[:2]] + [0, 0]
    major, minor = parts[0], parts[1]
    if product_line == "gsx":
        return 7
    if product_line == "vpx" and major == 2:
        return 4
    if product_line in ("esx", "embeddedEsx") and major == 3:
        return 4
    if major == 4:
        return 7
    if major == 5:
        return 9 if minor < 5 else 10
    if major == 6:
        return 10
    return 8


def datastore_resolver(conn: ConnectionLike) -> OnlineDatastores:
    """A resolver for the datastores of the connection's host, read now."""
    return OnlineDatastores(datastores_of(conn), conn=conn)


def virtual_hw_version(conn: ConnectionLike) -> int:
    """The ``virtualHW.version`` the server creates VMs with (read once per connection).

    Asked from the compute resource's environment browser (its default config option, else
    the highest it can create); libvirt's table by product version otherwise.
    """
    cached = conn.memo.get("virtual_hw_version")
    if cached is not None:
        return int(cached)
    version = _query_hw_version(conn)
    if version is None:
        about = conn.session.about
        version = default_hw_version(about.productLineId, about.version)
    conn.memo["virtual_hw_version"] = version
    return version


def _query_hw_version(conn: ConnectionLike) -> int | None:
    compute = conn.compute_resource
    if compute is None:
        return None
    try:
        with translate("reading the supported virtual hardware versions"):
            browser = (
                retrieve(conn.content, [compute], ["environmentBrowser"])
                .get(compute, {})
                .get("environmentBrowser")
            )
            if browser is None:
                return None
            descriptors = browser.QueryConfigOptionDescriptor() or []
    except errors.EsxnbError as exc:
        log.info("cannot query the virtual hardware versions (%s); using libvirt's table", exc)
        return None
    versions = []
    for d in descriptors:
        match = re.fullmatch(r"vmx-(\d+)", str(d.key))
        if not match or d.createSupported is False:
            continue
        versions.append((bool(d.defaultConfigOption), int(match.group(1))))
    return max(versions)[1] if versions else None


def domxml_from_native_online(conn: ConnectionLike, vmx_text: str | bytes, **kw: Any) -> str:
    """Domain XML from VMX text, resolving file names against the host's datastores."""
    if "resolver" not in kw and "datastores" not in kw:
        kw["resolver"] = datastore_resolver(conn)
    kw.setdefault("datacenter_path", conn.datacenter_path)
    return domxml_from_native(vmx_text, **kw)


def domxml_to_native_online(conn: ConnectionLike, xml: str | bytes, **kw: Any) -> str:
    """VMX text from domain XML, with the server's datastores and virtual hardware version."""
    if "resolver" not in kw and "datastores" not in kw:
        kw["resolver"] = datastore_resolver(conn)
    if kw.get("virtual_hw_version") is None:
        kw["virtual_hw_version"] = virtual_hw_version(conn)
    return domxml_to_native(xml, **kw)


class ConversionFacet(Facet):
    """``domxml_from_native`` / ``domxml_to_native`` with the server's datastores."""

    __slots__ = ()

    def datastore_resolver(self) -> OnlineDatastores:
        """A resolver for the datastores of the connection's host, read now."""
        return datastore_resolver(self._conn)

    def virtual_hw_version(self) -> int:
        """The ``virtualHW.version`` the server creates VMs with."""
        return virtual_hw_version(self._conn)

    def domxml_from_native(self, vmx_text: str | bytes, **kw: Any) -> str:
        """Domain XML from VMX text, resolving file names against the host's datastores."""
        return domxml_from_native_online(self._conn, vmx_text, **kw)

    def domxml_to_native(self, xml: str | bytes, **kw: Any) -> str:
        """VMX text from domain XML, with the server's datastores and virtual hardware version."""
        return domxml_to_native_online(self._conn, xml, **kw)
