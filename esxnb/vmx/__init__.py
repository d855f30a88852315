"""VMX <-> libvirt domain XML conversion, usable offline.

``domxml_from_native`` and ``domxml_to_native`` behave like ``virsh domxml-from-native
vmware-vmx`` and ``virsh domxml-to-native vmware-vmx``; a live ``Connection`` passes a
resolver that knows the host's real datastores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._from_native import domxml_from_native
    from ._paths import DatastoreResolver, OfflineDatastores
    from ._to_native import domxml_to_native
    from ._vmxfile import VMXFile, format_vmx, parse_vmx

_EXPORTS = {
    "DatastoreResolver": "._paths",
    "OfflineDatastores": "._paths",
    "VMXFile": "._vmxfile",
    "domxml_from_native": "._from_native",
    "domxml_to_native": "._to_native",
    "format_vmx": "._vmxfile",
    "parse_vmx": "._vmxfile",
}
__all__ = [
    "DatastoreResolver",
    "OfflineDatastores",
    "VMXFile",
    "domxml_from_native",
    "domxml_to_native",
    "format_vmx",
    "parse_vmx",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
