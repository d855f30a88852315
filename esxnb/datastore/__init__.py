"""Datastores: their files (HTTP ``/folder`` interface), datastore paths, how a live host's
datastores resolve file names for conversion, and ``VOLUME=NAME`` mappings."""

from ._files import delete, download, escape_datastore_item, exists, folder_url, parse_datastore_path, upload
from ._mapping import parse_datastore_mapping
from ._resolver import VOLUMES, DatastoreInfo, OnlineDatastores, datastores_of

__all__ = [
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
    "VOLUMES",
]
