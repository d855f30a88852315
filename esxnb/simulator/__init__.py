"""The govmomi vSphere simulator as a test and training server.

``Simulator("vpx"|"esx", ...)`` runs the project's Go launcher (built once
from Debian's govmomi source and cached) and exposes ``.uri``,
``.username``, ``.password``, ``.ca_file``; see :class:`Simulator` for the
knobs, the demo estate (``estate="demo"``) and the control API.
``python -m esxnb.simulator`` runs one in the foreground. :func:`describe` and
:func:`attach` hand a running simulator to another process (``esxnb lab`` to
its notebooks).
"""

from __future__ import annotations

from esxnb.errors import SimulatorError

from ._build import ensure_built
from ._handoff import ENV_SIMULATOR, ENV_SIMULATOR_TOKEN, attach, describe, same_kind
from ._process import DEMO_VMS, ESTATES, TOOLS_STATES, Simulator, free_port_on

__all__ = [
    "Simulator",
    "SimulatorError",
    "TOOLS_STATES",
    "ESTATES",
    "DEMO_VMS",
    "ensure_built",
    "free_port_on",
    "attach",
    "describe",
    "same_kind",
    "ENV_SIMULATOR",
    "ENV_SIMULATOR_TOKEN",
]
