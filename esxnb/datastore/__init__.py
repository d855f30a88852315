"""Datastores: as libvirt storage pools with their volumes (virtual disks, ISO and floppy
images), their files (HTTP ``/folder`` interface), datastore paths, how a live host's datastores
resolve file names for conversion, and ``VOLUME=NAME`` mappings."""

from ._facet import StorageFacet
from ._files import delete, download, escape_datastore_item, exists, folder_url, parse_datastore_path, upload
from ._mapping import parse_datastore_mapping
from ._pools import POOLS, PoolInfo, StoragePool, find_pool, list_pools
from ._resolver import DatastoreInfo, OnlineDatastores, datastores_of
from ._volume_info import VOLUMES, VolumeInfo, format_volume_xml, parse_volume_xml
from ._volumes import (
    ADAPTERS,
    ALLOCATIONS,
    Volume,
    create_volume,
    create_volume_xml,
    find_volume,
    list_volumes,
)

__all__ = [
    "StorageFacet",
    "StoragePool",
    "PoolInfo",
    "Volume",
    "VolumeInfo",
    "list_pools",
    "find_pool",
    "list_volumes",
    "find_volume",
    "create_volume",
    "create_volume_xml",
    "parse_volume_xml",
    "format_volume_xml",
    "ALLOCATIONS",
    "ADAPTERS",
    "POOLS",
    "VOLUMES",
    "download",
    "upload",
    "delete",
    "exists",
    "folder_url",
    "escape_datastore_item",
    "parse_datastore_path",
    "parse_datastore_mapping",
    "DatastoreInfo",
    "OnlineDatastores",
    "datastores_of",
]
