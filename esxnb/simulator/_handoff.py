"""Handing a running simulator to other processes: ``esxnb lab`` starts one and its notebooks
get a handle with the same control API (``lab.simulator``), through two environment variables.

``ESXNB_SIMULATOR``
    JSON: the simulator's URL, address, CA file, mode, inventory (estate, seed, knobs) and user
    name; never the password (``ESXNB_PASSWORD`` carries it) or the control token
``ESXNB_SIMULATOR_TOKEN``
    the control API's token
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from esxnb.errors import SimulatorError

from ._process import Simulator

__all__ = ["ENV_SIMULATOR", "ENV_SIMULATOR_TOKEN", "describe", "attach", "same_kind"]

ENV_SIMULATOR = "ESXNB_SIMULATOR"
ENV_SIMULATOR_TOKEN = "ESXNB_SIMULATOR_TOKEN"
_PASSWORD = "ESXNB_PASSWORD"


def describe(sim: Simulator) -> dict[str, str]:
    """The environment variables that let another process attach to the running ``sim``."""
    if not sim.running:
        raise SimulatorError("only a running simulator can be handed over")
    description = {
        "url": sim.url,
        "host": sim.host,
        "port": sim.port,
        "ca_file": sim.ca_file,
        "transport": sim.transport,
        "mode": sim.mode,
        "estate": sim.estate,
        "seed": sim.seed,
        "counts": sim.counts,
        "username": sim.username,
    }
    return {ENV_SIMULATOR: json.dumps(description, sort_keys=True), ENV_SIMULATOR_TOKEN: sim._token}


def _options(description: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Simulator(...)`` arguments that make a simulator like the described one."""
    counts = dict(description["counts"])
    options: dict[str, Any] = {"vms": counts.pop("vms")}
    if description.get("estate"):
        options.update(estate=description["estate"], seed=description.get("seed", 0))
    else:
        options.update(counts)
    return options


def same_kind(environ: Mapping[str, str] | None = None) -> tuple[str, dict[str, Any]] | None:
    """``(mode, options)`` for a new simulator like the handed-over one, or None without one."""
    description = _read(os.environ if environ is None else environ)
    return None if description is None else (description["mode"], _options(description))


def _read(environ: Mapping[str, str]) -> dict[str, Any] | None:
    text = environ.get(ENV_SIMULATOR, "").strip()
    if not text:
        return None
    try:
        description = json.loads(text)
        for key in ("url", "host", "port", "mode", "counts", "username", "transport"):
            description[key]  # noqa: B018 - presence check
    except (ValueError, KeyError, TypeError) as exc:
        raise SimulatorError(f"${ENV_SIMULATOR} is not a simulator description esxnb wrote: {exc}") from None
    return description


def attach(environ: Mapping[str, str] | None = None) -> Simulator | None:
    """A handle on the simulator described in ``environ`` (default ``os.environ``), or None.

    Its control API (tools, questions, task behaviours, faults...) works as on one this process
    started; ``stop()`` only lets go of it.
    """
    environ = os.environ if environ is None else environ
    description = _read(environ)
    if description is None:
        return None
    token = environ.get(ENV_SIMULATOR_TOKEN, "")
    if not token:
        raise SimulatorError(f"${ENV_SIMULATOR} is set but ${ENV_SIMULATOR_TOKEN} is not")
    sim = Simulator(
        description["mode"],
        username=description["username"],
        password=environ.get(_PASSWORD, ""),
        transport=description["transport"],
        **_options(description),
    )
    sim._attached = True
    sim._token = token
    sim._ready = {
        "url": description["url"],
        "host": description["host"],
        "port": description["port"],
        "ca_file": description.get("ca_file") or "",
        "pid": None,
    }
    return sim
