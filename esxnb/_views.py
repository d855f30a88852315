"""The container views a connection keeps for bulk retrievals; they live with its session."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ._fastpc import Ref

__all__ = ["InventoryViews"]


@dataclass
class InventoryViews:
    """Views created on first use and reused by every later table read of one connection.

    ``vms``: the VirtualMachines in the connection's scope; ``structure``: folders,
    datacenters, compute resources, hosts and pools below the datacenter (or root), from which
    inventory paths are computed; ``others``: one view per further managed-object type
    (datastores, networks, ...) that a table asks for.
    """

    lock: threading.RLock = field(default_factory=threading.RLock)
    vms: Any = None
    structure: Any = None
    others: dict[str, Any] = field(default_factory=dict)
    # Every host's HostAutoStartManager seen so far: asked in the same retrieval next time.
    autostart_managers: set[Ref] = field(default_factory=set)

    def forget(self) -> None:
        """Drop every view (they died with their session)."""
        self.vms = self.structure = None
        self.others.clear()
