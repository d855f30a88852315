"""Old home of ``define`` and domain look-up, kept for imports written against it (see :mod:`esxnb.domain`)."""

from .domain import DefinePlan, Domain, define, find_domain, plan_define

__all__ = ["DefinePlan", "Domain", "define", "find_domain", "plan_define"]
