"""Old home of conversion against a live host, kept for imports written against it (see
:mod:`esxnb.conversion` and :mod:`esxnb.datastore`)."""

from .conversion import default_hw_version
from .datastore import DatastoreInfo, OnlineDatastores, datastores_of

__all__ = ["DatastoreInfo", "OnlineDatastores", "datastores_of", "default_hw_version"]
