"""Shared simulator fixtures (session-scoped: one server per mode per run).

``vpx_sim`` and ``esx_sim`` are small inventories; ``sim`` runs a test in
both modes. Tests that change simulator behaviour (faults, questions,
tools) should use their own Simulator, or undo it (``sim.reset()``).
``conn`` is a connection to the module's own module-scoped ``sim``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esxnb.connection import Connection
from esxnb.simulator import Simulator
from helpers import connect_to


@pytest.fixture(scope="session")
def vpx_sim() -> Iterator[Simulator]:
    """vCenter: DC0 with cluster DC0_C0 (2 hosts) and standalone host DC0_H0, 2 VMs each."""
    with Simulator("vpx", clusters=1, hosts=2, standalone_hosts=1, vms=2) as sim:
        yield sim


@pytest.fixture(scope="session")
def esx_sim() -> Iterator[Simulator]:
    """Standalone ESX host with 2 VMs."""
    with Simulator("esx", vms=2) as sim:
        yield sim


@pytest.fixture(params=["vpx", "esx"])
def sim(request: pytest.FixtureRequest) -> Simulator:
    """Each of the session simulators in turn."""
    return request.getfixturevalue(f"{request.param}_sim")


@pytest.fixture(scope="module")
def conn(sim: Simulator) -> Iterator[Connection]:
    """A connection to ``sim``, for modules that define a module-scoped ``sim`` of their own."""
    with connect_to(sim) as connection:
        yield connection
