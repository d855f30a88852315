"""What the network kind adds to ``Connection``: ``networks()``, ``network()``, ``define_network()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._protocol import Facet
from ._define import define_network
from ._host import Network, find_network, list_networks

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NetworkFacet"]


class NetworkFacet(Facet):
    __slots__ = ()

    def networks(self) -> pd.DataFrame:
        """The bound host's standard vSwitches as libvirt networks, one row each."""
        return list_networks(self._conn)

    def network(self, name: str) -> Network:
        """The vSwitch ``name`` (or the one whose libvirt UUID is ``name``)."""
        return find_network(self._conn, name)

    def define_network(self, xml: str | bytes) -> Network:
        """Create a vSwitch, its port groups, uplinks and shaping from libvirt ``<network>`` XML."""
        return define_network(self._conn, xml)
