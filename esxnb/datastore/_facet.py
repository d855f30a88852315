"""What the datastore kind adds to ``Connection``: ``pools()`` and ``pool()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._protocol import Facet
from ._pools import StoragePool, find_pool, list_pools

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["StorageFacet"]


class StorageFacet(Facet):
    __slots__ = ()

    def pools(self) -> pd.DataFrame:
        """Datastores as libvirt storage pools: name, uuid, type, capacity, allocation, available
        (bytes), accessible, NFS host and path, URL, target path."""
        return list_pools(self._conn)

    def pool(self, name: str) -> StoragePool:
        """The datastore ``name`` (or the one whose libvirt UUID is ``name``) as a storage pool."""
        return find_pool(self._conn, name)
