"""What the inventory kind adds to ``Connection``: the estate tables one by one, ``estate()``
(all of them from one retrieval) and ``health()``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .. import errors
from .._protocol import Facet
from .._tables import LiveTable, TableSpec, read_tables
from ._devices import CDROMS, DISKS, DV_PORTGROUPS, NICS, PARTITIONS, USB
from ._dvports import DVPORTS, ENTITY_NAMES, dvports
from ._estate import Estate
from ._files import DATASTORE_FILES, VM_FILES, datastore_files, referenced_files
from ._health import health
from ._hosts import DVSWITCHES
from ._infra import CLUSTERS, DATASTORES, RESOURCE_POOLS
from ._registry import DEFAULT_TABLES, TABLES
from ._vms import TOOLS, VM_CPU, VM_MEMORY, VMS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EstateFacet", "ESTATE_TABLES"]

#: Every table ``estate()`` can read: the PropertyCollector ones, ``datastore_files`` and ``dvports``.
ESTATE_TABLES = (*DEFAULT_TABLES, "datastore_files", "dvports", "domains", "scheduler")
#: The tables that need calls beyond the one retrieval, and the tables they are built from.
_EXTRA_TABLES = {
    "datastore_files": (DATASTORE_FILES, (DATASTORES, VM_FILES)),
    "dvports": (DVPORTS, (DVSWITCHES, DV_PORTGROUPS, *ENTITY_NAMES)),
}
ProgressLike = Callable[[int, str], None] | bool | None


def table_spec(name: str) -> TableSpec:
    """The declaration of estate table ``name`` (its columns and dtypes)."""
    return _EXTRA_TABLES[name][0] if name in _EXTRA_TABLES else TABLES[name]


def _reporter(progress: ProgressLike) -> Callable[[int, str], None]:
    """``progress`` itself, lines on stdout for ``True``, nothing for None/False."""
    if callable(progress):
        return progress
    if progress:
        return lambda percent, message: print(f"[{percent:3d}%] {message}", flush=True)
    return lambda percent, message: None


def _wanted(tables: Iterable[str] | None) -> list[str]:
    names = list(DEFAULT_TABLES) + list(_EXTRA_TABLES) if tables is None else list(dict.fromkeys(tables))
    unknown = [n for n in names if n not in ESTATE_TABLES]
    if unknown:
        raise errors.ValidationError(
            f"unknown estate table(s) {', '.join(unknown)}; the tables are {', '.join(ESTATE_TABLES)}"
        )
    return names


class EstateFacet(Facet):
    __slots__ = ()

    def _one(self, spec: TableSpec, *also: TableSpec) -> pd.DataFrame:
        return read_tables(self._conn, [spec, *also])[spec.name]

    def vms(self) -> pd.DataFrame:
        """One row per VM and template (RVTools' vInfo): states, sizes, storage, guest, paths,
        UUIDs, placement, and custom attributes as ``attr_*`` columns."""
        return self._one(VMS)

    def vm_cpu(self) -> pd.DataFrame:
        """One row per VM: vCPUs, sockets, cores per socket, usage, reservation, limit, shares."""
        return self._one(VM_CPU)

    def vm_memory(self) -> pd.DataFrame:
        """One row per VM: memory, reservation, limit, shares, guest/host usage, balloon, swap."""
        return self._one(VM_MEMORY)

    def disks(self) -> pd.DataFrame:
        """One row per virtual disk: controller, unit, capacity, thin/eager-zeroed, mode, file."""
        return self._one(DISKS)

    def partitions(self) -> pd.DataFrame:
        """One row per guest file system VMware tools report: capacity, free, free %."""
        return self._one(PARTITIONS)

    def nics(self) -> pd.DataFrame:
        """One row per virtual NIC: model, network or distributed port group, MAC and its range
        per the spec, connection state, guest IPs."""
        return self._one(NICS, DV_PORTGROUPS)

    def cdroms(self) -> pd.DataFrame:
        """One row per CD/DVD drive: backing, file, connected."""
        return self._one(CDROMS)

    def usb(self) -> pd.DataFrame:
        """One row per USB controller or device."""
        return self._one(USB)

    def tools(self) -> pd.DataFrame:
        """One row per VM: VMware tools status, running state, version and upgrade policy."""
        return self._one(TOOLS)

    def clusters(self) -> pd.DataFrame:
        """One row per cluster: hosts, CPU and memory totals and effective, HA/DRS/DPM settings."""
        return self._one(CLUSTERS)

    def resource_pools(self) -> pd.DataFrame:
        """One row per resource pool: path, owner, VMs, CPU and memory allocations."""
        return self._one(RESOURCE_POOLS)

    def datastores(self) -> pd.DataFrame:
        """One row per datastore: type, capacity, free, provisioned, VMs, hosts, URL."""
        return self._one(DATASTORES)

    def dv_portgroups(self) -> pd.DataFrame:
        """One row per distributed port group: VLAN, ports, binding, VMs."""
        return self._one(DV_PORTGROUPS)

    def dvswitches(self) -> pd.DataFrame:
        """One row per distributed switch: version, hosts, ports, port groups, MTU."""
        return self._one(TABLES["dvswitches"])

    def host_nics(self) -> pd.DataFrame:
        """One row per physical NIC of every host: device, MAC, driver, speed, duplex, PCI."""
        return self._one(TABLES["host_nics"])

    def vmkernel_nics(self) -> pd.DataFrame:
        """One row per VMkernel NIC of every host: port group, IP, netmask, DHCP, MAC, MTU."""
        return self._one(TABLES["vmkernel_nics"])

    def switches(self) -> pd.DataFrame:
        """One row per standard vSwitch of every host: ports, MTU, uplinks."""
        return self._one(TABLES["switches"])

    def port_groups(self) -> pd.DataFrame:
        """One row per standard port group of every host: switch, VLAN, active ports."""
        return self._one(TABLES["port_groups"])

    def hbas(self) -> pd.DataFrame:
        """One row per storage adapter of every host: kind, model, driver, status, WWN."""
        return self._one(TABLES["hbas"])

    def multipaths(self) -> pd.DataFrame:
        """One row per LUN of every host: multipathing policy and path states."""
        return self._one(TABLES["multipaths"])

    def licenses(self) -> pd.DataFrame:
        """One row per license: name, key, edition, total, used."""
        return self._one(TABLES["licenses"])

    def datastore_files(self) -> pd.DataFrame:
        """One row per file on the datastores; ``orphaned`` marks disks no VM or template uses."""
        return self.estate(["datastore_files"])["datastore_files"]

    def dvports(self) -> pd.DataFrame:
        """One row per distributed virtual port: switch, port group, VLAN, the VM NIC or host
        VMkernel NIC connected, link state, security and shaping policy."""
        return self.estate(["dvports"])["dvports"]

    def watch(
        self,
        table: str,
        *,
        interval: float | None = None,
        on_change: Callable[[LiveTable, pd.DataFrame], None] | None = None,
    ) -> LiveTable:
        """A table that stays live (``domains``, ``hosts``, ``vms``, ``datastores``... any table
        with one row per object): one filter on the server, changes applied to ``live.frame``
        as they happen, logged in ``live.changes``, never refetched. Stop it with
        ``live.stop()`` or a ``with`` block. ``interval``: apply changes at most every that
        many seconds, gathered (None: as they come)."""
        if table not in TABLES:
            raise errors.ValidationError(f"unknown table {table!r}; the tables are {', '.join(TABLES)}")
        return LiveTable(self._conn, TABLES[table], on_change=on_change, interval=interval).wait_ready()

    def estate(self, tables: Iterable[str] | None = None, *, progress: ProgressLike = None) -> Estate:
        """The asked-for tables (default: every estate table) in an :class:`Estate`, from ONE
        PropertyCollector retrieval plus, for ``datastore_files``, one search per datastore and,
        for ``dvports``, one ``FetchDVPorts`` per distributed switch.
        ``progress``: a ``(percent, message)`` callable, or ``True`` for lines on stdout."""
        say = _reporter(progress)
        names = _wanted(tables)
        conn = self._conn
        specs = [TABLES[n] for n in names if n in TABLES]
        for name in names:
            specs += [spec for spec in _EXTRA_TABLES.get(name, (None, ()))[1] if spec not in specs]
        taken_at = dt.datetime.now(dt.timezone.utc)
        say(0, f"reading {len(specs)} table(s) from {conn.uri.hostname} in one retrieval")
        frames = read_tables(conn, specs)
        if "datastore_files" in names:
            say(60, f"searching {len(frames['datastores'])} datastore(s) for files")
            frames["datastore_files"] = datastore_files(
                conn, frames["datastores"], referenced_files(frames["_vm_files"]["file"].dropna())
            )
        if "dvports" in names:
            say(80, f"fetching the ports of {len(frames['dvswitches'])} distributed switch(es)")
            entities = {m: n for s in ENTITY_NAMES for m, n in zip(frames[s.name].moref, frames[s.name].name)}
            frames["dvports"] = dvports(conn, frames["dvswitches"], frames["dv_portgroups"], entities)
        about = conn.content.about
        server = {
            "product": str(about.fullName),
            "version": str(about.version),
            "build": str(about.build),
            "instance_uuid": str(getattr(about, "instanceUuid", "") or ""),
            "api_type": str(about.apiType),
        }
        say(100, "done: " + ", ".join(f"{n} {len(frames[n])}" for n in names))
        return Estate({n: frames[n] for n in names}, taken_at=taken_at, source=str(conn.uri), server=server)

    def health(self, *, estate: Estate | None = None, **thresholds: float) -> pd.DataFrame:
        """Findings of the estate audit rules (see :mod:`esxnb.estate`); thresholds are
        keyword arguments (``snapshot_age_days=30``, ``datastore_free_pct=15``, ...). Reads
        the estate unless one is given."""
        return health(estate if estate is not None else self.estate(), **thresholds)
