"""Domain snapshots: the tree of each domain, libvirt's ``<domainsnapshot>`` XML, creating,
reverting and deleting, and the ``snapshots()`` table of every domain."""

from ._facet import SnapshotFacet
from ._handle import Snapshot, create_snapshot, create_snapshot_xml, snapshot_frame, snapshot_info
from ._table import SNAPSHOTS, snapshot_records
from ._tree import SNAPSHOT_STATES, find, walk
from ._xml import SnapshotDefinition, format_snapshot_xml, parse_snapshot_xml

__all__ = [
    "Snapshot",
    "SnapshotDefinition",
    "SnapshotFacet",
    "SNAPSHOTS",
    "SNAPSHOT_STATES",
    "create_snapshot",
    "create_snapshot_xml",
    "snapshot_frame",
    "snapshot_info",
    "snapshot_records",
    "walk",
    "find",
    "format_snapshot_xml",
    "parse_snapshot_xml",
]
