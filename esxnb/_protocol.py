"""What a resource kind may ask of a connection.

Resource modules (domains, hosts, datastores, snapshots, ...) type their ``conn`` argument
against :class:`ConnectionLike` and never import :mod:`esxnb.connection`: only the facade
composes them, so layers point down and no import cycle can form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from ._location import Location
    from ._session import Session
    from ._views import InventoryViews
    from .uri import URI

__all__ = ["ConnectionLike", "Facet"]


class ConnectionLike(Protocol):
    """The part of :class:`esxnb.Connection` that resource kinds use."""

    uri: URI
    session: Session
    location: Location
    views: InventoryViews
    #: Facts read once per connection (e.g. the virtual hardware version), by name.
    memo: dict[str, Any]

    @property
    def si(self) -> Any:
        """The ServiceInstance (pyvmomi)."""

    @property
    def content(self) -> Any:
        """The ServiceContent (pyvmomi)."""

    @property
    def host(self) -> Any | None:
        """The one HostSystem the connection is bound to, if any."""

    @property
    def datacenter(self) -> Any | None: ...

    @property
    def datacenter_path(self) -> str | None: ...

    @property
    def compute_resource(self) -> Any | None: ...

    @property
    def scope(self) -> Any:
        """The inventory object bounding the connection: host, compute resource, datacenter or root."""

    @property
    def auto_answer(self) -> bool: ...

    @property
    def is_vcenter(self) -> bool: ...

    @property
    def vcenter(self) -> ConnectionLike | None:
        """The vCenter side: the connection itself for vpx://, the managing vCenter for ?vcenter=."""

    def require_host(self, operation: str) -> Any:
        """The bound host, or a ValidationError telling how to name one in the URI."""

    def open(self, uri: URI, *, auth: Any = None, ca_file: str | None = None) -> ConnectionLike:
        """Another connection to ``uri`` with this one's request timeout; the caller closes it."""

    def rebound(self, location: Location) -> ConnectionLike:
        """A connection on the same session bound to another place (closing it logs nothing out)."""

    def close(self) -> None: ...


class Facet:
    """Base of the method groups a resource kind adds to :class:`esxnb.Connection`.

    A facet holds no state of its own: its methods call the kind's functions with the
    connection (``self._conn``), whose state is declared in :class:`ConnectionLike`. The
    facade lists its facets as base classes, one line per kind.
    """

    __slots__ = ()

    @property
    def _conn(self) -> ConnectionLike:
        return cast("ConnectionLike", self)
