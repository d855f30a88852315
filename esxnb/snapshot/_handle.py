"""``Snapshot``: one snapshot of a domain, and creating, reverting and deleting snapshots."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from .. import errors
from .._collect import retrieve
from .._vmtasks import DomainLike, run_task
from ..tasks import Progress
from ._tree import SnapshotRecord, find, walk
from ._xml import SnapshotDefinition, format_snapshot_xml, parse_snapshot_xml

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Snapshot", "create_snapshot", "create_snapshot_xml", "snapshot_info", "ANY_STATE"]

ANY_STATE = ("poweredOn", "poweredOff", "suspended")


def snapshot_info(domain: DomainLike) -> Any:
    """The domain's ``snapshot`` property (None without snapshots)."""
    found = retrieve(domain.connection.content, [domain.vm], ["snapshot"]).get(domain.vm)
    if found is None:
        raise errors.NotFoundError(f"domain {domain.name!r} no longer exists")
    return found.get("snapshot")


class Snapshot:
    """A snapshot of ``domain`` called ``name``; its details are read from the server on use.

    vSphere lets one tree hold two snapshots of the same name; by name alone the first (in tree
    order) is meant, as in libvirt. A handle made with ``moref`` (``Domain.snapshot(name,
    moref=...)``, and every handle esxnb makes from the tree) always means that one.

    ``revert()`` and ``delete()`` take ``progress``, ``timeout`` and ``cancel_event`` like the
    domain's lifecycle methods, and handle the questions a task raises the same way.
    """

    def __init__(self, domain: DomainLike, name: str, moref: str | None = None) -> None:
        self.domain = domain
        self.name = name
        self.moref = moref

    def __repr__(self) -> str:
        return f"<esxnb.Snapshot {self.name!r} of {self.domain.name!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Snapshot)
            and other.domain == self.domain
            and other.name == self.name
            and (other.moref is None or self.moref is None or other.moref == self.moref)
        )

    def __hash__(self) -> int:
        return hash((self.name, self.domain.name))

    def info(self) -> SnapshotRecord:
        """name, description, created, state, quiesced, has_memory, parent, current, depth, id,
        children (names), moref."""
        record = find(snapshot_info(self.domain), self.name, self.moref)
        if record is None:
            raise errors.NotFoundError(f"domain {self.domain.name!r} has no snapshot {self.name!r} any more")
        return record

    def _object(self) -> Any:
        moref = self.info()["moref"]
        return vim.vm.Snapshot(moref, self.domain.vm._stub)

    @property
    def parent(self) -> Snapshot | None:
        parent = self.info()["parent_moref"]
        if parent is None:
            return None
        record = next(r for r in walk(snapshot_info(self.domain)) if r["moref"] == parent)
        return Snapshot(self.domain, record["name"], record["moref"])

    def children(self) -> list[Snapshot]:
        moref = self.info()["moref"]
        return [
            Snapshot(self.domain, r["name"], r["moref"])
            for r in walk(snapshot_info(self.domain))
            if r["parent_moref"] == moref
        ]

    def xml(self) -> str:
        """The snapshot in libvirt's ``<domainsnapshot>`` format (``virsh snapshot-dumpxml``)."""
        return format_snapshot_xml(self.info(), self.domain.uuid)

    def revert(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Bring the domain back to this snapshot (its disks, and its memory and power state
        when the snapshot kept them)."""
        snapshot = self._object()
        run_task(
            self.domain,
            f"revert to snapshot {self.name!r} of",
            ANY_STATE,
            lambda _vm: snapshot.RevertToSnapshot_Task(),
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
        )

    def delete(
        self,
        *,
        children: bool = False,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Delete this snapshot (its changes are merged into its children or the running
        state); ``children=True`` deletes its whole subtree."""
        snapshot = self._object()
        run_task(
            self.domain,
            f"delete snapshot {self.name!r} of",
            ANY_STATE,
            lambda _vm: snapshot.RemoveSnapshot_Task(removeChildren=children),
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
        )


def create_snapshot(
    domain: DomainLike,
    definition: SnapshotDefinition,
    *,
    quiesce: bool = False,
    progress: Progress | None = None,
    timeout: float | None = None,
    cancel_event: threading.Event | None = None,
) -> Snapshot:
    """Create the snapshot ``definition`` describes; an existing name is refused as libvirt
    refuses it."""
    if not definition.name or not definition.name.strip():
        raise errors.ValidationError("a snapshot needs a name")
    if any(record["name"] == definition.name for record in walk(snapshot_info(domain))):
        raise errors.ExistsError(
            f"domain {domain.name!r} has a snapshot called {definition.name!r} already; choose another name"
        )
    run_task(
        domain,
        f"create snapshot {definition.name!r} of",
        ANY_STATE,
        lambda vm: vm.CreateSnapshot_Task(
            name=definition.name,
            description=definition.description,
            memory=definition.memory,
            quiesce=quiesce,
        ),
        progress=progress,
        timeout=timeout,
        cancel_event=cancel_event,
    )
    return Snapshot(domain, definition.name)


def create_snapshot_xml(domain: DomainLike, xml: str | bytes, **kwargs: Any) -> Snapshot:
    """:func:`create_snapshot` from libvirt's ``<domainsnapshot>`` XML."""
    return create_snapshot(domain, parse_snapshot_xml(xml), **kwargs)


def snapshot_frame(domain: DomainLike) -> pd.DataFrame:
    """The domain's snapshots, with the columns of the connection-wide ``snapshots()``."""
    from .._tables import read_table
    from ._table import SNAPSHOTS

    frame = read_table(domain.connection, SNAPSHOTS, vms=[domain.vm])
    return frame.reset_index(drop=True)
