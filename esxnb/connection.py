"""``connect(uri)`` and the ``Connection`` it returns."""

from __future__ import annotations

import logging
from urllib.parse import quote
from typing import Any

from . import errors
from ._collect import retrieve
from ._location import Location, resolve_host_by_ip, resolve_ip, resolve_path, resolve_single_host
from ._session import DEFAULT_TIMEOUT, Session
from .credentials import AuthSource
from ._protocol import ConnectionLike
from ._views import InventoryViews
from .conversion import ConversionFacet
from .datastore import StorageFacet
from .domain import DomainFacet
from .host import HostFacet
from .interfaces import InterfaceFacet
from .estate import EstateFacet
from .events import EventsFacet
from .migration import MigrationFacet
from .networks import NetworkFacet
from .node import NodeFacet
from .perf import PerfFacet
from .scheduler import SchedulerFacet
from .snapshot import SnapshotFacet
from .uri import URI, default_username, parse_uri

__all__ = ["Connection", "connect"]

log = logging.getLogger("esxnb")

# What about.productLineId says for each scheme's kind of server.
_PRODUCT_LINES = {"esx": ("esx", "embeddedEsx"), "gsx": ("gsx",), "vpx": ("vpx",)}
_PRODUCT_NAMES = {"esx": "ESX", "embeddedEsx": "ESX", "gsx": "GSX", "vpx": "vCenter (VPX)"}
_SCHEME_FOR = {"esx": "esx", "embeddedEsx": "esx", "gsx": "gsx", "vpx": "vpx"}


class Connection(
    # The resource kinds, one line each (see ARCHITECTURE.md: "Adding a resource kind").
    DomainFacet,
    SchedulerFacet,
    HostFacet,
    ConversionFacet,
    MigrationFacet,
    StorageFacet,
    NetworkFacet,
    InterfaceFacet,
    SnapshotFacet,
    NodeFacet,
    EstateFacet,
    PerfFacet,
    EventsFacet,
):
    """A session with an ESX/GSX host or a vCenter, bound to what the URI names.

    ``host`` is the one HostSystem the connection works on (None for a vpx:// URI that names
    only a datacenter or nothing); ``vcenter`` is the vCenter side (``self`` for vpx://, the
    managing vCenter for ``esx://...?vcenter=``, else None).

    Its methods come from the resource kinds' facets; its state is what
    :class:`~esxnb._protocol.ConnectionLike` declares: ``uri``, ``session``, ``location``,
    ``views`` (container views reused by table reads) and ``memo`` (facts read once).
    """

    def __init__(
        self, uri: URI, session: Session, location: Location, *, vcenter: Connection | None = None
    ) -> None:
        self.uri = uri
        self._session = session
        self.location = location
        self._vcenter = vcenter
        self._closed = False
        self._owns_session = True
        self.views = InventoryViews()
        self.memo: dict[str, Any] = {}

    # -- what it points at -------------------------------------------------
    @property
    def session(self) -> Session:
        """The logged-in session; a closed connection raises ConnectionClosedError instead of
        logging in again (an *expired* session on an open connection is renewed transparently)."""
        if self._closed:
            raise errors.ConnectionClosedError(
                f"this connection to {self.uri.hostname} was closed; connect again to use it (esxnb.connect)"
            )
        return self._session

    @property
    def si(self) -> Any:
        return self.session.si

    @property
    def content(self) -> Any:
        return self.session.content

    @property
    def host(self) -> Any | None:
        return self.location.host

    @property
    def datacenter(self) -> Any | None:
        return self.location.datacenter

    @property
    def datacenter_path(self) -> str | None:
        return self.location.datacenter_path

    @property
    def compute_resource(self) -> Any | None:
        return self.location.compute_resource

    @property
    def auto_answer(self) -> bool:
        return self.uri.auto_answer

    @property
    def is_vcenter(self) -> bool:
        return self.session.about.apiType == "VirtualCenter"

    @property
    def vcenter(self) -> Connection | None:
        return self if self.is_vcenter else self._vcenter

    @property
    def scope(self) -> Any:
        """The inventory object that bounds this connection: its host, datacenter or root folder."""
        return (
            self.location.host
            or self.location.compute_resource
            or self.location.datacenter
            or self.content.rootFolder
        )

    def require_host(self, operation: str) -> Any:
        """The bound host, or an error telling how to name one in the URI."""
        if self.location.host is None:
            raise errors.ValidationError(
                f"{operation} needs one host: connect with a vpx:// path that ends in a host, "
                f"e.g. {self.uri.replace(path='/<datacenter>/[<cluster>/]<host>')}"
            )
        return self.location.host

    def info(self) -> dict[str, str | None]:
        about = self.session.about
        return {
            "product": about.fullName,
            "name": about.name,
            "version": about.version,
            "build": about.build,
            "api_type": about.apiType,
            "api_version": about.apiVersion,
            "product_line": about.productLineId,
            "hostname": self.uri.hostname,
            "host": self.location.host_name,
            "datacenter": self.location.datacenter_path,
            "username": self.session.username,
        }

    # -- related connections ----------------------------------------------------
    def open(self, uri: URI, *, auth: AuthSource = None, ca_file: str | None = None) -> Connection:
        """Another connection to ``uri`` with this one's request timeout; the caller closes it."""
        return connect(uri, auth=auth, ca_file=ca_file, timeout=self.session.timeout)

    def rebound(self, location: Location) -> Connection:
        """A connection on this one's session bound to ``location`` (closing it logs nothing out)."""
        items = [item for item in (location.datacenter_path or "").split("/") if item]
        if location.compute_resource_path:
            items += location.compute_resource_path.split("/")
        if location.host_name and location.host_name != location.compute_resource_path:
            items.append(location.host_name)
        path = "/" + "/".join(quote(item, safe="") for item in items)
        bound = Connection(self.uri.replace(path=path), self.session, location)  # raises once closed
        bound._owns_session = False
        return bound

    # -- life cycle ------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._vcenter is not None and self._vcenter is not self:
            self._vcenter.close()
        if self._owns_session:
            self._session.logout()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        user = self._session.username or "?"
        return f"<esxnb.Connection {self.uri} user={user!r} {state}>"


def _check_server_type(uri: URI, session: Session, hostname: str) -> None:
    line = session.about.productLineId
    if line in _PRODUCT_LINES[uri.scheme]:
        return
    found = _PRODUCT_NAMES.get(line, f"{session.about.apiType} ({line})")
    wanted = {"esx": "an ESX host", "gsx": "a GSX host", "vpx": "a vCenter"}[uri.scheme]
    hint = f"; use {_SCHEME_FOR[line]}://" if line in _SCHEME_FOR else ""
    raise errors.WrongServerTypeError(f"expecting {hostname} to be {wanted} but found {found}{hint}")


def connect(
    uri: str | URI,
    *,
    auth: AuthSource = None,
    vcenter_auth: AuthSource = None,
    ca_file: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Connection:
    """Open a connection as libvirt's ESX driver does.

    ``auth`` is a ``(username, password)`` pair, a callback ``auth(challenge)`` receiving the
    host name, or None (auth.conf, ESXNB_USERNAME/ESXNB_PASSWORD, then a terminal prompt).
    ``vcenter_auth`` answers for the vCenter reached through ``?vcenter=`` (default: ``auth``).
    ``timeout`` bounds each request in seconds.
    """
    if not isinstance(uri, URI):
        uri = parse_uri(uri)
    session = Session(
        uri,
        uri.hostname,
        auth=auth,
        username=uri.username,
        default_username=default_username(uri.scheme),
        scheme=uri.scheme,
        ca_file=ca_file,
        timeout=timeout,
        check_server=lambda found: _check_server_type(uri, found, uri.hostname),
    )
    try:
        if uri.scheme == "vpx":
            if uri.vcenter is not None:
                log.warning("ignoring vcenter=%s: a vpx:// connection is already a vCenter", uri.vcenter)
            location = resolve_path(session.content, uri.path_items, require_host=False)
            return Connection(uri, session, location)
        if uri.path_items:
            log.warning(
                "ignoring the path %r of a %s:// URI (only vpx:// URIs have paths)", uri.path, uri.scheme
            )
        location = resolve_single_host(session.content)
        vcenter = None
        if uri.vcenter is not None:
            vcenter = _connect_vcenter(
                uri, session, location, vcenter_auth if vcenter_auth is not None else auth, ca_file, timeout
            )
        return Connection(uri, session, location, vcenter=vcenter)
    except BaseException:
        session.logout()
        raise


def _connect_vcenter(
    uri: URI,
    session: Session,
    location: Location,
    auth: AuthSource,
    ca_file: str | None,
    timeout: float | None,
) -> Connection:
    """The vCenter managing this host, reached at the same port and transport as the host."""
    managed_by = retrieve(session.content, [location.host], ["summary.managementServerIp"])[
        location.host
    ].get("summary.managementServerIp")
    if uri.vcenter == "*":
        if not managed_by:
            raise errors.ConnectionFailedError(
                f"host {uri.hostname} is not managed by a vCenter (vcenter=* needs one); "
                "connect to the vCenter with vpx:// or name it with vcenter=HOST"
            )
        vcenter_host = managed_by
    else:
        vcenter_host = uri.vcenter or ""
        vcenter_ip = resolve_ip(vcenter_host) if managed_by else None
        if managed_by and vcenter_ip != managed_by:
            raise errors.ConnectionFailedError(
                f"host {uri.hostname} is managed by a vCenter with IP address {managed_by}, "
                f"but a mismatching vCenter {vcenter_host!r} ({vcenter_ip}) was given"
            )
    vcenter_uri = URI(
        scheme="vpx",
        hostname=vcenter_host,
        port=uri.port,
        transport=uri.transport,
        no_verify=uri.no_verify,
        auto_answer=uri.auto_answer,
        proxy=uri.proxy,
        port_given=True,
    )
    vc_session = Session(
        vcenter_uri,
        vcenter_host,
        auth=auth,
        default_username=default_username("vpx"),
        scheme="vpx",
        ca_file=ca_file,
        timeout=timeout,
        check_server=lambda found: _check_server_type(vcenter_uri, found, vcenter_host),
    )
    try:
        vc_location = resolve_host_by_ip(vc_session.content, resolve_ip(uri.hostname), server=vcenter_host)
        items = [vc_location.datacenter_path, vc_location.compute_resource_path]
        if vc_location.host_name != vc_location.compute_resource_path:
            items.append(vc_location.host_name)
        path = "/" + "/".join(quote(str(item), safe="") for item in items)
        return Connection(vcenter_uri.replace(path=path, port=uri.port), vc_session, vc_location)
    except BaseException:
        vc_session.logout()
        raise


def _conforms(conn: Connection) -> ConnectionLike:
    """Type checkers verify here that Connection gives resource kinds what they ask for."""
    return conn
