"""The snapshot methods of ``Domain`` (the work is done in :mod:`esxnb.snapshot`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .. import errors
from ..snapshot import (
    Snapshot,
    SnapshotDefinition,
    create_snapshot,
    create_snapshot_xml,
    find,
    snapshot_frame,
    snapshot_info,
    walk,
)
from ..tasks import Progress

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SnapshotMethods"]


class SnapshotMethods:
    """Mixed into :class:`~esxnb.domain.Domain`; holds no state."""

    __slots__ = ()
    connection: Any
    vm: Any
    name: str
    uuid: str

    def snapshots(self) -> pd.DataFrame:
        """This domain's snapshots, parents before children (the columns of
        ``Connection.snapshots()``)."""
        return snapshot_frame(self)

    def snapshot(self, name: str, *, moref: str | None = None) -> Snapshot:
        """The snapshot called ``name`` (NotFoundError naming the snapshots there are). Where the
        tree holds two of that name, ``moref`` (the ``moref`` column of ``snapshots()``) says
        which; without it the first in tree order is meant, as in libvirt."""
        info = snapshot_info(self)
        if find(info, name, moref) is None:
            names = [record["name"] for record in walk(info)]
            which = f"{name!r} (moref {moref})" if moref else repr(name)
            raise errors.NotFoundError(
                f"domain {self.name!r} has no snapshot {which}; it has: {', '.join(names) or 'none'}",
                suggestions=names,
            )
        return Snapshot(self, name, moref or find(info, name)["moref"])

    def current_snapshot(self) -> Snapshot | None:
        """The snapshot the domain runs from (None without snapshots)."""
        current = next((r for r in walk(snapshot_info(self)) if r["current"]), None)
        return Snapshot(self, current["name"], current["moref"]) if current is not None else None

    def snapshot_create(
        self,
        name: str,
        *,
        description: str = "",
        memory: bool = True,
        quiesce: bool = False,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> Snapshot:
        """Take a snapshot (``virsh snapshot-create-as``): with the guest's memory unless
        ``memory=False`` (disk only), quiescing the guest's file systems when ``quiesce``
        (needs VMware tools). A name the domain's snapshots already use is refused."""
        return create_snapshot(
            self,
            SnapshotDefinition(name=name, description=description, memory=memory),
            quiesce=quiesce,
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
        )

    def snapshot_create_xml(
        self,
        xml: str | bytes,
        *,
        quiesce: bool = False,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> Snapshot:
        """Take a snapshot described by libvirt's ``<domainsnapshot>`` XML (name, description;
        ``<memory snapshot='no'/>`` for disk only)."""
        return create_snapshot_xml(
            self, xml, quiesce=quiesce, progress=progress, timeout=timeout, cancel_event=cancel_event
        )
