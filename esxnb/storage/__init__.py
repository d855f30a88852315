"""Storage pools (datastores) and their volumes (virtual disks, ISO and floppy images), as
libvirt's ESX storage driver shows them."""

from .pools import POOL_COLUMNS, PoolInfo, StoragePool, find_pool, list_pools
from .volumes import ADAPTERS, ALLOCATIONS, VOLUME_COLUMNS, Volume, VolumeInfo

__all__ = [
    "StoragePool",
    "Volume",
    "PoolInfo",
    "VolumeInfo",
    "list_pools",
    "find_pool",
    "ALLOCATIONS",
    "ADAPTERS",
    "POOL_COLUMNS",
    "VOLUME_COLUMNS",
]
