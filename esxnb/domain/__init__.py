"""The domain kind: ``Domain`` handles (lifecycle, scheduler, dumpxml, undefine), finding
domains, ``define``, and the ``domains()`` table."""

from .._vocabulary import STATE_WORDS
from ._define import DefinePlan, define, plan_define
from ._facet import DomainFacet, as_domain
from .._ancestry import datacenter_of
from ._handle import Domain
from ._lifecycle import DEFAULT_SHUTDOWN_TIMEOUT, OPERATIONS
from ._lookup import find_domain, list_vms
from ._names import display_name, inventory_name, normalize_uuid
from ._names import domain_id
from ._table import DOMAINS, placement_columns, vm_name

__all__ = [
    "Domain",
    "DomainFacet",
    "find_domain",
    "list_vms",
    "as_domain",
    "define",
    "plan_define",
    "DefinePlan",
    "datacenter_of",
    "display_name",
    "inventory_name",
    "normalize_uuid",
    "STATE_WORDS",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "OPERATIONS",
    "DOMAINS",
    "domain_id",
    "vm_name",
    "placement_columns",
]
