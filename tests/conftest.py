"""Shared simulator fixtures (session-scoped: one server per mode per run).

``vpx_sim`` and ``esx_sim`` are small inventories; ``sim`` runs a test in
both modes. Tests that change simulator behaviour (faults, questions,
tools) should use their own Simulator, or undo it (``sim.reset()``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esxnb.simulator import Simulator


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
