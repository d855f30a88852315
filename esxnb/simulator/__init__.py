"""The govmomi vSphere simulator as a test and training server.

``Simulator("vpx"|"esx", ...)`` runs the project's Go launcher (built once
from Debian's govmomi source and cached) and exposes ``.uri``,
``.username``, ``.password``, ``.ca_file``; see :class:`Simulator` for the
knobs and the control API. ``python -m esxnb.simulator`` runs one in the
foreground.
"""

from __future__ import annotations

from esxnb.errors import SimulatorError

from ._build import ensure_built
from ._process import TOOLS_STATES, Simulator, free_port_on

__all__ = ["Simulator", "SimulatorError", "TOOLS_STATES", "ensure_built", "free_port_on"]
