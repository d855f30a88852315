"""The migration kind: moving a domain to another host through the vCenter managing both
(spec: "Migration").

A host cannot migrate on its own: the move is a vCenter relocation task. The source and the
destination connection must each know that vCenter (a ``vpx://vc/dc/host`` URI, or
``esx://host/?vcenter=*`` / ``?vcenter=HOST``), and it must be the same one. The destination
may also be named by a host name or vpx path inside the source's vCenter, resolved on the
source's vCenter session. Everything is checked before anything moves; afterwards the
domain's host is read back from the server.
"""

from ..errors import MigrationCancelledError, MigrationTimeoutError
from ._checks import classify_validation_events
from ._destinations import find_destination_host, host_path
from ._facet import MigrationFacet, migrate_to
from ._move import MigrationResult

__all__ = [
    "MigrationFacet",
    "MigrationResult",
    "MigrationTimeoutError",
    "MigrationCancelledError",
    "migrate_to",
    "find_destination_host",
    "host_path",
    "classify_validation_events",
]
