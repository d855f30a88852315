"""vSphere's words and libvirt's, in one place: power states, tools states, shares levels.

Every table, operation and form takes its vocabulary from here, so a state cannot be spelled
two ways in two modules.
"""

from __future__ import annotations

__all__ = [
    "STATE_WORDS",
    "DOMAIN_STATES",
    "domain_state",
    "TOOLS_STATUSES",
    "TOOLS_RUNNING",
    "tools_running",
    "SHARES_LEVEL_VALUES",
    "SHARES_LEVEL_NAMES",
    "SHARES_LEVELS",
    "CONNECTION_STATES",
    "HOST_POWER_STATES",
]

#: vSphere ``runtime.powerState`` -> libvirt's word (``virsh domstate``).
STATE_WORDS = {"poweredOn": "running", "suspended": "paused", "poweredOff": "shut off"}
#: Every word a domain's ``state`` can take, in libvirt's order.
DOMAIN_STATES = ("running", "paused", "shut off", "no state")


def domain_state(power_state: object) -> str:
    """libvirt's word for a vSphere power state ("no state" for anything unknown)."""
    return STATE_WORDS.get(str(power_state), "no state")


#: ``guest.toolsStatus`` values.
TOOLS_STATUSES = ("toolsOk", "toolsOld", "toolsNotRunning", "toolsNotInstalled")
#: ``guest.toolsRunningStatus`` values meaning the tools answer requests.
TOOLS_RUNNING = ("guestToolsRunning", "guestToolsExecutingScripts")


def tools_running(running_status: object) -> bool | None:
    """Whether ``guest.toolsRunningStatus`` says the tools run (None when the server says nothing)."""
    return None if running_status is None else running_status in TOOLS_RUNNING


#: libvirt's numbers for the shares levels (spec "Scheduler configuration").
SHARES_LEVEL_VALUES = {"low": -1, "normal": -2, "high": -3}
#: The inverse: -1/-2/-3 -> level name.
SHARES_LEVEL_NAMES = {value: name for name, value in SHARES_LEVEL_VALUES.items()}
#: Every ``shares_level`` a table can show.
SHARES_LEVELS = (*SHARES_LEVEL_VALUES, "custom")

#: ``runtime.connectionState`` of a host.
CONNECTION_STATES = ("connected", "disconnected", "notResponding")
#: ``runtime.powerState`` of a host.
HOST_POWER_STATES = ("poweredOn", "poweredOff", "standBy", "unknown")
