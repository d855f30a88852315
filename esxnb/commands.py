"""Operations that open their own connections from URIs (the ``esxnb`` command's verbs)."""

from __future__ import annotations

import threading
from typing import Any

from .connection import connect
from .credentials import AuthSource
from .migration import MigrationResult
from .migration._checks import require_vcenter_parameter
from .tasks import Progress
from .uri import parse_uri

__all__ = ["migrate_command"]


def migrate_command(
    domain: str,
    source_uri: str,
    destination_uri: str,
    *,
    auth: AuthSource = None,
    ca_file: str | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
    cancel_event: threading.Event | None = None,
) -> MigrationResult:
    """``esxnb migrate DOMAIN SRC_URI DST``: open both ends, migrate, close both.

    ``DST`` is a URI, or a host name / vpx path in the source's vCenter (then only the
    source is opened). ``auth`` answers every credential request; a callback receives the
    host name as the challenge, so it can answer a host and its vCenter differently.
    """
    source_parsed = parse_uri(source_uri)
    require_vcenter_parameter(source_parsed, "source")
    kwargs: dict[str, Any] = {"progress": progress, "timeout": timeout, "cancel_event": cancel_event}
    if "://" not in destination_uri:
        with connect(source_parsed, auth=auth, ca_file=ca_file) as source:
            return source.migrate(domain, destination_uri, **kwargs)
    destination_parsed = parse_uri(destination_uri)
    require_vcenter_parameter(destination_parsed, "destination")
    with connect(source_parsed, auth=auth, ca_file=ca_file) as source:
        with connect(destination_parsed, auth=auth, ca_file=ca_file) as destination:
            return source.migrate(domain, destination, **kwargs)
