"""What the migration kind adds to ``Connection``: ``migrate()``, ``migration_destinations()``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .. import errors
from .._location import Location
from .._protocol import ConnectionLike, Facet
from .._tables import read_table
from ..credentials import AuthSource
from ..host import HOSTS
from ..tasks import Progress
from ..uri import URI, parse_uri
from ._checks import Target, require_vcenter, require_vcenter_parameter, target_of
from ._destinations import find_destination_host
from ._move import MigrationResult, migrate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MigrationFacet", "migrate_to"]


def migrate_to(
    source: ConnectionLike,
    domain: Any,
    destination: ConnectionLike | URI | str,
    *,
    progress: Progress | None = None,
    timeout: float | None = None,
    cancel_event: threading.Event | None = None,
    new_name: str | None = None,
    auth: AuthSource = None,
    ca_file: str | None = None,
) -> MigrationResult:
    """See :meth:`MigrationFacet.migrate`."""
    if new_name is not None:
        raise errors.MigrationError(
            f"renaming domains on migration is not supported (new_name={new_name!r}); "
            "migrate first, then rename the domain"
        )
    vcenter = require_vcenter(source, "source")
    if isinstance(destination, str) and "://" not in destination:
        host, host_name = find_destination_host(vcenter, destination)
        target = Target(vcenter, host, host_name, None, f"host {host_name}")
        return migrate(source, domain, target, progress, timeout, cancel_event)
    if isinstance(destination, (str, URI)):
        uri = destination if isinstance(destination, URI) else parse_uri(destination)
        require_vcenter_parameter(uri, "destination")
        opened = source.open(uri, auth=auth, ca_file=ca_file)
        try:
            return migrate(source, domain, target_of(opened), progress, timeout, cancel_event)
        finally:
            opened.close()
    return migrate(source, domain, target_of(destination), progress, timeout, cancel_event)


def _datacenter_view(vcenter: ConnectionLike) -> ConnectionLike:
    """``vcenter`` scoped to its datacenter (or the whole inventory), on the same session."""
    return vcenter.rebound(Location(datacenter=vcenter.datacenter, datacenter_path=vcenter.datacenter_path))


class MigrationFacet(Facet):
    __slots__ = ()

    def migrate(
        self,
        domain: Any,
        destination: ConnectionLike | URI | str,
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
        return migrate_to(
            self._conn,
            domain,
            destination,
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
            new_name=new_name,
            auth=auth,
            ca_file=ca_file,
        )

    def migration_destinations(self) -> pd.DataFrame:
        """The hosts of the managing vCenter a domain here could move to, as ``hosts()`` rows.

        Every host of the vCenter connection's datacenter (of the whole vCenter when it names
        none), the source host included; ``name`` or ``path`` of a row is a valid
        ``destination`` for :meth:`migrate`. Read on the vCenter's session.
        """
        return read_table(_datacenter_view(require_vcenter(self._conn, "source")), HOSTS)
