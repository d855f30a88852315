"""``Domain``: one virtual machine on a connection, with libvirt's lifecycle operations."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pyVmomi import vim

from .. import errors
from .._ancestry import datacenter_of
from .._scheduling import allocation_spec, settings_from_allocation, validate
from .._collect import retrieve
from .._faults import translate
from .._vocabulary import domain_state
from ..tasks import Progress, raise_if_cancelled
from ._lifecycle import lifecycle_method, require_state, run_task, vcenter_side
from ._names import domain_id
from ._resources import ResourceMethods
from ._snapshots import SnapshotMethods

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = ["Domain"]


class Domain(SnapshotMethods, ResourceMethods):
    """A handle on one VM: ``name``, ``uuid`` (BIOS), ``vm`` (pyVmomi VirtualMachine), ``connection``.

    Every operation reads the VM's current state from the server first; nothing is cached
    but the identity. The lifecycle methods (start, shutdown, reboot, destroy, suspend,
    resume, reset, undefine) all take ``progress(percent, message)``, ``timeout`` (seconds)
    and ``cancel_event`` (a ``threading.Event``: once set, the server task is cancelled when
    the server allows it and :class:`~esxnb.errors.TaskCancelledError` raised).
    """

    def __init__(self, connection: ConnectionLike, vm: Any, *, name: str, uuid: str) -> None:
        self.connection = connection
        self.vm = vm
        self.name = name
        self.uuid = uuid

    def __repr__(self) -> str:
        return f"<esxnb.Domain {self.name!r} uuid={self.uuid} on {self.connection.session.hostname}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Domain)
            and other.vm._moId == self.vm._moId
            and other.connection is self.connection
        )

    def __hash__(self) -> int:
        return hash((self.vm._moId, id(self.connection)))

    # -- reading -------------------------------------------------------------------------
    def _read(self, properties: tuple[str, ...]) -> dict[str, Any]:
        try:
            found = retrieve(self.connection.content, [self.vm], properties).get(self.vm)
        except errors.NotFoundError:
            found = None
        if found is None:
            raise errors.NotFoundError(
                f"domain {self.name!r} no longer exists on {self.connection.session.hostname}"
            )
        return found

    @property
    def power_state(self) -> str:
        """vSphere's ``runtime.powerState`` (poweredOn, poweredOff, suspended)."""
        return str(self._read(("runtime.powerState",)).get("runtime.powerState"))

    @property
    def state(self) -> str:
        """libvirt's word for the current state: running, paused (suspended) or shut off."""
        return domain_state(self.power_state)

    @property
    def host_name(self) -> str | None:
        host = self._read(("runtime.host",)).get("runtime.host")
        if host is None:
            return None
        return str(
            retrieve(self.connection.content, [host], ["name"]).get(host, {}).get("name") or host._moId
        )

    @property
    def vmx_path(self) -> str:
        """``[datastore] directory/name.vmx``."""
        path = self._read(("config.files.vmPathName",)).get("config.files.vmPathName")
        if not path:
            raise errors.NotFoundError(f"domain {self.name!r} has no VMX file path (config.files.vmPathName)")
        return str(path)

    def scheduler(self) -> dict[str, Any]:
        """``{"reservation": MHz, "limit": MHz or -1, "shares": n or -1/-2/-3, "shares_level": ...}``."""

        settings = settings_from_allocation(self._read(("config.cpuAllocation",)).get("config.cpuAllocation"))
        return {**settings.as_dict(), "shares_level": settings.shares_level}

    # -- lifecycle (one implementation: ._lifecycle.OPERATIONS) ---------------------------
    start = lifecycle_method("start")
    resume = lifecycle_method("resume")
    suspend = lifecycle_method("suspend")
    reset = lifecycle_method("reset")
    destroy = lifecycle_method("destroy")
    shutdown = lifecycle_method("shutdown")
    reboot = lifecycle_method("reboot")

    def undefine(
        self,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Unregister a shut-off or suspended domain; its files stay on the datastore.

        Unregistering has no task: ``timeout`` is unused and ``cancel_event`` only prevents it
        when set before.
        """
        raise_if_cancelled(cancel_event, f"undefine of domain {self.name!r}")
        conn, vm = vcenter_side(self)
        with translate(f"reading domain {self.name!r}"):
            power = retrieve(conn.content, [vm], ["runtime.powerState"]).get(vm, {}).get("runtime.powerState")
        if power is None:
            raise errors.NotFoundError(f"domain {self.name!r} no longer exists on {conn.session.hostname}")
        require_state(self.name, str(power), ("poweredOff", "suspended"), "undefine")
        with translate(f"cannot undefine domain {self.name!r}"):
            vm.UnregisterVM()
        if progress is not None:
            progress(100, f"undefined {self.name}")

    # -- configuration ------------------------------------------------------------------------
    def set_scheduler(
        self,
        reservation: int | None = None,
        limit: int | None = None,
        shares: int | None = None,
        *,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        """Change the CPU scheduler parameters (spec "Scheduler configuration"); None keeps a value."""

        props = self._read(("config.cpuAllocation", "config.hardware.numCPU"))
        current = settings_from_allocation(props.get("config.cpuAllocation"))
        values = validate(reservation, limit, shares, current=current, domain=self.name)
        # The whole allocation is sent: servers that store the spec as given (the simulator)
        # would otherwise reset the fields left out.
        merged = {**current.as_dict(), **values}
        spec = vim.vm.ConfigSpec(
            cpuAllocation=allocation_spec(merged, vcpus=props.get("config.hardware.numCPU"))
        )
        run_task(
            self,
            "change the scheduler parameters of",
            ("poweredOn", "poweredOff", "suspended"),
            lambda vm: vm.ReconfigVM_Task(spec=spec),
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
        )

    def dumpxml(self) -> str:
        """The domain XML as ``virsh dumpxml`` writes it: the ``.vmx`` downloaded from the
        datastore and converted, with the domain's ``id`` (unless shut off) and moref."""
        from ..conversion import domxml_from_native_online
        from ..datastore import download

        vmx_path = self.vmx_path
        _datacenter, datacenter_path = datacenter_of(self.connection, self.vm, what=f"domain {self.name!r}")
        vmx = download(self.connection, vmx_path, datacenter_path=datacenter_path)
        moref = self.vm._moId
        return domxml_from_native_online(
            self.connection,
            vmx,
            vmx_path=vmx_path,
            datacenter_path=datacenter_path,
            moref=moref,
            domain_id=domain_id(moref, self.state),
        )
