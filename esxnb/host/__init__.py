"""The host kind: the ``hosts()`` table."""

from ._facet import HostFacet
from ._table import HOSTS, host_path

__all__ = ["HostFacet", "HOSTS", "host_path"]
