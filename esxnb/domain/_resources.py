"""Memory, vCPUs, autostart and console screenshots of a ``Domain``, with libvirt's semantics
(esx_driver.c): ``set_memory`` sets the memory limit (what ``virsh dominfo`` shows as used
memory), ``set_max_memory`` the configured memory, ``set_vcpus`` the vCPU count; autostart is
the host's autostart manager; a screenshot is the console as the host captures it."""

from __future__ import annotations

import datetime as dt
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyVmomi import vim

from .. import errors
from .._ancestry import datacenter_of
from .._collect import retrieve
from .._faults import translate
from ..tasks import Progress
from .._vmtasks import run_task

__all__ = ["ResourceMethods", "Screenshot"]

_ANY = ("poweredOn", "poweredOff", "suspended")
_MAX_MEMORY_MIB = 24 * 1024 * 1024  # ESXi 8's per-VM maximum (24 TiB)


@dataclass(frozen=True)
class Screenshot:
    """A PNG of a domain's console: ``png`` (bytes), ``width``, ``height``, ``taken_at`` (UTC).
    A notebook shows it inline."""

    png: bytes = field(repr=False)
    width: int
    height: int
    taken_at: dt.datetime

    @classmethod
    def from_png(cls, data: bytes, taken_at: dt.datetime) -> Screenshot:
        if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
            raise errors.ServerFault("the server's screenshot is not a PNG image", fault_type="Screenshot")
        width, height = struct.unpack(">II", data[16:24])
        return cls(data, width, height, taken_at)

    def _repr_png_(self) -> bytes:
        return self.png

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the PNG to ``path``; an existing file is kept unless ``overwrite``."""
        target = Path(path)
        try:
            with open(target, "wb" if overwrite else "xb") as out:
                out.write(self.png)
        except FileExistsError:
            raise errors.ExistsError(
                f"{target} exists already; not overwriting it (pass overwrite=True)"
            ) from None
        return target


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.ValidationError(f"{what} must be a whole number, not {value!r}")
    return value


class ResourceMethods:
    """Mixed into :class:`~esxnb.domain.Domain`; holds no state."""

    __slots__ = ()
    connection: Any
    vm: Any
    name: str
    uuid: str

    def _read(self, properties: tuple[str, ...]) -> dict[str, Any]:  # provided by Domain
        raise NotImplementedError

    def _reconfigure(
        self, spec: Any, what: str, progress: Progress | None, timeout: float | None, cancel_event: Any
    ) -> None:
        run_task(
            self,
            what,
            _ANY,
            lambda vm: vm.ReconfigVM_Task(spec=spec),
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
        )

    # -- memory ---------------------------------------------------------------------------
    def set_max_memory(
        self,
        mib: int,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Set the configured memory (``virsh setmaxmem``, here in MiB): a multiple of 4 MiB
        (the spec's restriction); only while shut off, unless the guest allows memory hot-add
        and the memory grows."""
        mib = _whole(mib, "the maximum memory (MiB)")
        if mib < 4 or mib % 4 or mib > _MAX_MEMORY_MIB:
            raise errors.RestrictionError(
                f"cannot set the maximum memory of domain {self.name!r} to {mib} MiB: "
                f"ESX memory is a multiple of 4 MiB between 4 MiB and {_MAX_MEMORY_MIB} MiB"
            )
        props = self._read(("runtime.powerState", "config.hardware.memoryMB", "config.memoryHotAddEnabled"))
        state, current = str(props.get("runtime.powerState")), int(props.get("config.hardware.memoryMB") or 0)
        if state != "poweredOff" and not (props.get("config.memoryHotAddEnabled") and mib > current):
            raise errors.InvalidStateError(
                f"cannot change the maximum memory of domain {self.name!r} from {current} to {mib} MiB while it "
                "is not shut off (memory hot-add is off for it, and memory can never shrink while it runs)"
            )
        self._reconfigure(
            vim.vm.ConfigSpec(memoryMB=mib),
            "change the maximum memory of",
            progress,
            timeout,
            cancel_event,
        )

    def set_memory(
        self,
        mib: int,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Set the memory the domain may use (``virsh setmem``, here in MiB): the memory limit
        of its allocation, at most the maximum memory; works in any power state."""
        mib = _whole(mib, "the memory (MiB)")
        maximum = int(self._read(("config.hardware.memoryMB",)).get("config.hardware.memoryMB") or 0)
        if not 1 <= mib <= maximum:
            raise errors.ValidationError(
                f"cannot set the memory of domain {self.name!r} to {mib} MiB: it must be between 1 MiB and "
                f"its maximum memory, {maximum} MiB (raise that with set_max_memory)"
            )
        spec = vim.vm.ConfigSpec(memoryAllocation=vim.ResourceAllocationInfo(limit=mib))
        self._reconfigure(spec, "change the memory of", progress, timeout, cancel_event)

    # -- vCPUs ----------------------------------------------------------------------------
    def set_vcpus(
        self,
        count: int,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Set the number of vCPUs (``virsh setvcpus``): 1 or even (the spec's restriction), at
        most what the host supports; while the domain runs only with vCPU hot-add (to grow) or
        hot-remove (to shrink) enabled."""
        count = _whole(count, "the number of vCPUs")
        if count < 1 or (count > 1 and count % 2):
            raise errors.RestrictionError(
                f"cannot give domain {self.name!r} {count} vCPUs: ESX domains have 1 vCPU or an even number"
            )
        props = self._read(
            (
                "runtime.powerState",
                "runtime.host",
                "config.hardware.numCPU",
                "config.cpuHotAddEnabled",
                "config.cpuHotRemoveEnabled",
            )
        )
        host = props.get("runtime.host")
        if host is not None:
            limit = retrieve(self.connection.content, [host], ["capability.maxSupportedVcpus"]).get(host, {})
            maximum = limit.get("capability.maxSupportedVcpus")
            if maximum and count > maximum:
                raise errors.ValidationError(
                    f"cannot give domain {self.name!r} {count} vCPUs: its host supports at most {maximum}"
                )
        current = int(props.get("config.hardware.numCPU") or 0)
        if str(props.get("runtime.powerState")) != "poweredOff" and count != current:
            allowed = (
                props.get("config.cpuHotAddEnabled")
                if count > current
                else props.get("config.cpuHotRemoveEnabled")
            )
            if not allowed:
                kind = "hot-add" if count > current else "hot-remove"
                raise errors.InvalidStateError(
                    f"cannot change domain {self.name!r} from {current} to {count} vCPUs while it is not shut off: "
                    f"vCPU {kind} is off for it"
                )
        self._reconfigure(
            vim.vm.ConfigSpec(numCPUs=count), "change the vCPUs of", progress, timeout, cancel_event
        )

    # -- autostart ------------------------------------------------------------------------
    def _autostart_manager(self) -> Any:
        host = self._read(("runtime.host",)).get("runtime.host")
        if host is None:
            raise errors.InvalidStateError(f"domain {self.name!r} is on no host: it has no autostart setting")
        found = retrieve(self.connection.content, [host], ["configManager.autoStartManager"]).get(host, {})
        manager = found.get("configManager.autoStartManager")
        if manager is None:
            raise errors.ServerFault(
                f"the host of domain {self.name!r} has no autostart manager", fault_type="NotSupported"
            )
        return manager

    def _autostart_config(self, manager: Any) -> Any:
        with translate(f"cannot read the autostart settings of domain {self.name!r}"):
            return retrieve(self.connection.content, [manager], ["config"]).get(manager, {}).get("config")

    @property
    def autostart(self) -> bool:
        """Whether the host starts the domain when it boots: autostart enabled on the host and
        the domain's start action ``powerOn`` (as libvirt reads it)."""
        config = self._autostart_config(self._autostart_manager())
        defaults = getattr(config, "defaults", None)
        if config is None or not getattr(defaults, "enabled", False):
            return False
        for info in getattr(config, "powerInfo", None) or []:
            if info.key._moId == self.vm._moId:
                return str(info.startAction).lower() == "poweron"
        return False

    def set_autostart(self, enabled: bool) -> None:
        """Start the domain with its host, or not (``virsh autostart [--disable]``). Enabling
        it turns the host's autostart on when no other domain would start with it, and is
        refused otherwise (as libvirt refuses it)."""
        if not isinstance(enabled, bool):
            raise errors.ValidationError(f"set_autostart takes True or False, not {enabled!r}")
        manager = self._autostart_manager()
        config = self._autostart_config(manager)
        spec = vim.host.AutoStartManager.Config()
        defaults = getattr(config, "defaults", None)
        if enabled and not getattr(defaults, "enabled", False):
            others = [
                info.key._moId
                for info in getattr(config, "powerInfo", None) or []
                if info.key._moId != self.vm._moId and str(info.startAction).lower() == "poweron"
            ]
            if others:
                raise errors.InvalidStateError(
                    f"cannot enable autostart for domain {self.name!r}: the host's autostart is off, and turning "
                    f"it on would also start {len(others)} other domain(s) marked to start ({', '.join(others)})"
                )
            spec.defaults = vim.host.AutoStartManager.SystemDefaults(enabled=True)
        spec.powerInfo = [
            vim.host.AutoStartManager.AutoPowerInfo(
                key=self.vm,
                startOrder=-1,
                startDelay=-1,
                waitForHeartbeat="systemDefault",
                startAction="powerOn" if enabled else "none",
                stopDelay=-1,
                stopAction="none",
            )
        ]
        with translate(f"cannot change the autostart setting of domain {self.name!r}"):
            manager.ReconfigureAutostart(spec=spec)

    # -- console --------------------------------------------------------------------------
    def screenshot(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> Screenshot:
        """The console as a PNG (``virsh screenshot``), through CreateScreenshot_Task: the
        host writes the file beside the domain's .vmx; it is read and removed again. A domain
        that is not running has no console to capture (InvalidStateError)."""
        from ..datastore import delete, download

        path = run_task(
            self,
            "take a screenshot of",
            ("poweredOn",),
            lambda vm: vm.CreateScreenshot_Task(),
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
        )
        taken_at = dt.datetime.now(dt.timezone.utc)
        datacenter, datacenter_path = datacenter_of(self.connection, self.vm, what=f"domain {self.name!r}")
        data = download(self.connection, str(path), datacenter_path=datacenter_path)
        delete(self.connection, str(path), datacenter=datacenter)
        return Screenshot.from_png(data, taken_at)
