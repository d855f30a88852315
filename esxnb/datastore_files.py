"""Old home of the datastore file interface, kept for imports written against it (see :mod:`esxnb.datastore`)."""

from .datastore import (
    delete,
    download,
    escape_datastore_item,
    exists,
    folder_url,
    parse_datastore_path,
    upload,
)

__all__ = [
    "download",
    "upload",
    "delete",
    "exists",
    "folder_url",
    "escape_datastore_item",
    "parse_datastore_path",
]
