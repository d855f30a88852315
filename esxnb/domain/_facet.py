"""What the domain kind adds to ``Connection``: ``domain()``, ``domains()``, ``define()``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .._protocol import ConnectionLike, Facet
from .._tables import read_table
from ..tasks import Progress
from ._define import define
from ._handle import Domain
from ._lookup import find_domain
from ._table import DOMAINS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DomainFacet", "as_domain"]


def as_domain(conn: ConnectionLike, domain: Domain | str) -> Domain:
    """``domain`` itself, or the domain with that name or UUID."""
    return domain if isinstance(domain, Domain) else find_domain(conn, domain)


class DomainFacet(Facet):
    __slots__ = ()

    def domain(self, name_or_uuid: str) -> Domain:
        """The domain with this name or BIOS UUID (NotFoundError suggests close names)."""
        return find_domain(self._conn, name_or_uuid)

    def domains(self) -> pd.DataFrame:
        """One row per domain: ``name``, ``uuid`` (BIOS UUID), ``id`` (libvirt's: the moref
        number, <NA> while shut off), ``state`` (running / paused / shut off / no state),
        ``max_memory_mib``, ``memory_mib`` (the memory limit, else the maximum, as libvirt),
        ``vcpus``, ``guest_os``, ``guest_id``, ``vmx_path`` (``[datastore] dir/name.vmx``),
        ``datastore``, ``host``, ``compute_resource`` and ``cluster`` (paths below the
        datacenter's host folder), ``datacenter`` (path), ``folder`` (``/`` or ``/a/b`` in the
        datacenter's VM folder), ``resource_pool``, ``tools_status``, ``tools_running``,
        ``autostart`` (<NA> where the host has no autostart manager) and ``moref``.

        Rows are sorted by datacenter, host and name; ``df.attrs`` holds ``round_trips``
        (HTTP requests the call made), ``seconds`` and ``server``.
        """
        return read_table(self._conn, DOMAINS)

    def define(
        self,
        xml: str | bytes,
        *,
        datastore_hint: str | None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
        cancel_event: threading.Event | None = None,
    ) -> Domain:
        """Define (register) a new domain from domain XML, as ``virsh define``.

        The VMX goes to the datastore and directory of the first file-based hard disk
        (``datastore_hint`` names the datastore when the XML has none; the directory is then
        the escaped domain name). An existing VMX file, domain name or uuid is refused with
        DomainExistsError. If registration fails or is cancelled (``cancel_event``), the
        uploaded files are removed again.
        """
        return define(
            self._conn,
            xml,
            datastore_hint=datastore_hint,
            progress=progress,
            timeout=timeout,
            cancel_event=cancel_event,
        )
