"""esxnb: manage VMware ESX/ESXi, GSX and vCenter from Jupyter.

Connect with libvirt-style ``esx://``, ``gsx://`` and ``vpx://`` URIs, look at domains and
their CPU scheduler settings as pandas DataFrames, run lifecycle operations, convert between
VMX files and libvirt domain XML, and migrate domains through vCenter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errors
from ._lazy import lazy_exports
from .errors import EsxnbError
from .uri import URI, Proxy, parse_uri

if TYPE_CHECKING:
    from .connection import Connection, connect
    from .credentials import CredentialRequest, Credentials
    from .estate import Estate, history, read_estate
    from .many import inventory
    from .vmx import domxml_from_native, domxml_to_native

from ._version import __version__ as __version__

_EXPORTS = {
    "Connection": ".connection",
    "connect": ".connection",
    "CredentialRequest": ".credentials",
    "Credentials": ".credentials",
    "domxml_from_native": ".vmx",
    "domxml_to_native": ".vmx",
    "inventory": ".many",
    "Estate": ".estate",
    "read_estate": ".estate",
    "history": ".estate",
}
__all__ = [
    "Connection",
    "CredentialRequest",
    "Credentials",
    "EsxnbError",
    "Estate",
    "Proxy",
    "URI",
    "connect",
    "domxml_from_native",
    "domxml_to_native",
    "errors",
    "inventory",
    "parse_uri",
    "read_estate",
    "history",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
