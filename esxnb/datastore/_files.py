"""Files on datastores, over the server's file interface.

``GET/PUT/HEAD {transport}://{server}:{port}/folder/<path>?dcPath=<datacenter>&dsName=<datastore>``
with the SOAP session's ``vmware_soap_session`` cookie; deletion goes through the
FileManager (``DeleteDatastoreFile_Task``), which every server implements.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from .. import errors
from ..tasks import wait_for_task
from .._faults import to_esxnb_error, translate
from ..vmx._paths import split_datastore_path

if TYPE_CHECKING:
    from .._protocol import ConnectionLike

__all__ = [
    "folder_url",
    "download",
    "upload",
    "delete",
    "exists",
    "escape_datastore_item",
    "parse_datastore_path",
]

log = logging.getLogger("esxnb")

MAX_DOWNLOAD = 64 * 1024 * 1024


def parse_datastore_path(datastore_path: str) -> tuple[str, str, str]:
    """``"[ds] dir/sub/file.vmx"`` -> ``("ds", "dir/sub", "dir/sub/file.vmx")`` (directory may be "")."""
    try:
        datastore, path = split_datastore_path(datastore_path)
    except errors.ConversionError as exc:
        raise errors.ValidationError(str(exc)) from None
    directory = path.rsplit("/", 1)[0] if "/" in path else ""
    return datastore, directory, path


def _datacenter_path(conn: ConnectionLike, datacenter_path: str | None) -> str:
    path = datacenter_path or conn.datacenter_path
    if not path:
        raise errors.ValidationError(
            "the datastore file interface needs a datacenter: connect with a vpx:// path naming one "
            "or pass datacenter_path="
        )
    return path


def folder_url(conn: ConnectionLike, datastore_path: str, *, datacenter_path: str | None = None) -> str:
    """The ``/folder`` URL of a datastore file (server part included)."""
    return _server(conn) + _target(conn, datastore_path, datacenter_path)


def _server(conn: ConnectionLike) -> str:
    session = conn.session
    host = f"[{session.hostname}]" if ":" in session.hostname else session.hostname
    return f"{session.transport}://{host}:{session.port}"


def _target(conn: ConnectionLike, datastore_path: str, datacenter_path: str | None) -> str:
    datastore, _directory, path = parse_datastore_path(datastore_path)
    query = urlencode(
        {"dcPath": _datacenter_path(conn, datacenter_path), "dsName": datastore}, quote_via=quote
    )
    # Each path segment is percent-encoded (UTF-8); the separators stay.
    return "/folder/" + quote(path, safe="/") + "?" + query


def _open(conn: ConnectionLike) -> http.client.HTTPConnection:
    session = conn.session
    proxy = getattr(conn.uri, "proxy", None)
    timeout = session.timeout
    if session.transport == "https":
        if proxy is not None:
            client = http.client.HTTPSConnection(
                proxy.hostname, proxy.port, timeout=timeout, context=session.ssl_context
            )
            client.set_tunnel(session.hostname, session.port)
            return client
        return http.client.HTTPSConnection(
            session.hostname, session.port, timeout=timeout, context=session.ssl_context
        )
    if proxy is not None:
        return http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=timeout)
    return http.client.HTTPConnection(session.hostname, session.port, timeout=timeout)


def _request(
    conn: ConnectionLike,
    method: str,
    datastore_path: str,
    datacenter_path: str | None,
    body: bytes | None = None,
) -> tuple[int, bytes]:
    """One request with the session cookie; logs in again once when the server says 401."""
    target = _target(conn, datastore_path, datacenter_path)
    status, data = _send(conn, method, target, datastore_path, body)
    if status == 401:
        _touch_session(conn)
        status, data = _send(conn, method, target, datastore_path, body)
    return status, data


def _send(
    conn: ConnectionLike, method: str, target: str, datastore_path: str, body: bytes | None
) -> tuple[int, bytes]:
    cookie = conn.session.session_cookie
    headers = {"Cookie": f'vmware_soap_session="{cookie}"'} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/octet-stream"
    path = target
    if conn.session.transport == "http" and getattr(conn.uri, "proxy", None) is not None:
        path = _server(conn) + target
    client = _open(conn)
    try:
        client.request(method, path, body=body, headers=headers)
        response = client.getresponse()
        data = response.read(MAX_DOWNLOAD + 1) if method == "GET" else response.read()
        return response.status, data
    except (OSError, http.client.HTTPException, ssl.SSLError, socket.timeout) as exc:
        raise to_esxnb_error(exc, context=f"{method} {datastore_path} on {conn.session.hostname}") from exc
    finally:
        client.close()


def _touch_session(conn: ConnectionLike) -> None:
    """A cheap SOAP call that needs a session: the session stub logs in again if it has expired."""
    with translate("checking the session"):
        conn.si.CurrentTime()


def _where(datastore_path: str, conn: ConnectionLike, datacenter_path: str | None) -> str:
    return f"{datastore_path} (datacenter {_datacenter_path(conn, datacenter_path)!r} on {conn.session.hostname})"


def _check(
    status: int,
    data: bytes,
    action: str,
    datastore_path: str,
    conn: ConnectionLike,
    datacenter_path: str | None,
) -> None:
    if 200 <= status < 300:
        return
    where = _where(datastore_path, conn, datacenter_path)
    if status == 404:
        raise errors.NotFoundError(f"{action}: no such file or datastore: {where}")
    if status in (401, 403):
        raise errors.AuthenticationError(
            f"{action}: the server refused access to {where} (HTTP {status}); the session may have expired"
        )
    detail = data[:200].decode("utf-8", "replace").strip()
    raise errors.ServerFault(
        f"{action}: HTTP {status} for {where}" + (f": {detail}" if detail else ""), fault_type=f"HTTP{status}"
    )


def download(conn: ConnectionLike, datastore_path: str, *, datacenter_path: str | None = None) -> bytes:
    """The content of ``[datastore] path`` (at most 64 MiB)."""
    status, data = _request(conn, "GET", datastore_path, datacenter_path)
    _check(status, data, "download", datastore_path, conn, datacenter_path)
    if len(data) > MAX_DOWNLOAD:
        raise errors.ValidationError(
            f"{datastore_path} is larger than {MAX_DOWNLOAD // 2**20} MiB; not downloading it"
        )
    return data


def exists(conn: ConnectionLike, datastore_path: str, *, datacenter_path: str | None = None) -> bool:
    """Whether a file or directory is there."""
    status, data = _request(conn, "HEAD", datastore_path, datacenter_path)
    if status == 404:
        return False
    if status in (301, 302, 307, 308):  # a directory, redirected to its listing "dir/"
        return True
    if status in (405, 501):  # a server without HEAD: fall back to GET
        status, data = _request(conn, "GET", datastore_path, datacenter_path)
        if status == 404:
            return False
    _check(status, data, "checking", datastore_path, conn, datacenter_path)
    return True


def upload(
    conn: ConnectionLike,
    datastore_path: str,
    data: bytes | str,
    *,
    overwrite: bool = False,
    datacenter_path: str | None = None,
) -> None:
    """Write ``data`` (str is encoded as UTF-8) to ``[datastore] path``.

    Without ``overwrite`` an existing file is an error (ExistsError).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not overwrite and exists(conn, datastore_path, datacenter_path=datacenter_path):
        raise errors.ExistsError(
            f"{_where(datastore_path, conn, datacenter_path)} exists already; not overwriting it"
        )
    status, body = _request(conn, "PUT", datastore_path, datacenter_path, body=bytes(data))
    _check(status, body, "upload", datastore_path, conn, datacenter_path)


def delete(
    conn: ConnectionLike,
    datastore_path: str,
    *,
    datacenter_path: str | None = None,
    datacenter: Any | None = None,
) -> None:
    """Delete a file or directory with the FileManager (``datacenter`` defaults to the connection's)."""
    parse_datastore_path(datastore_path)
    datacenter = datacenter if datacenter is not None else conn.datacenter
    if datacenter is None:
        raise errors.ValidationError(
            f"deleting {datastore_path} needs a datacenter: connect with a vpx:// path naming one"
        )
    with translate(f"deleting {datastore_path}"):
        task = conn.content.fileManager.DeleteDatastoreFile_Task(name=datastore_path, datacenter=datacenter)
    wait_for_task(conn, task, timeout=300, description=f"deleting {datastore_path}")


def escape_datastore_item(name: str) -> str:
    """A domain name made safe as a datastore file/directory name, as libvirt does it.

    Windows-special characters ``"*<>:|?`` become ``_``; ``%``, ``/`` and ``\\`` are
    written ``%XX``; then every run of characters outside ``A-Za-z0-9'(),. _-`` is written
    ``+<base64 of its UTF-8, ',' for '/', no padding>`` and ended by ``-`` when more follows.
    """
    replaced = "".join("_" if c in '"*<>:|?' else c for c in name)
    escaped = "".join(f"%{ord(c):02x}" if c in "%/\\" else c for c in replaced)
    return _escape_base64(escaped.encode("utf-8"))


_NORMAL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'(),. _-")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"


def _escape_base64(data: bytes) -> str:
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        j = i
        if data[i] in _NORMAL:
            while j < n and data[j] in _NORMAL:
                j += 1
            out.append(data[i:j].decode("ascii"))
        else:
            while j < n and data[j] not in _NORMAL:
                j += 1
            out.append("+" + _b64_no_padding(data[i:j]))
            if j < n:
                out.append("-")
        i = j
    return "".join(out)


def _b64_no_padding(chunk: bytes) -> str:
    out = []
    for k in range(0, len(chunk), 3):
        group = chunk[k : k + 3]
        value = int.from_bytes(group.ljust(3, b"\0"), "big")
        digits = [_B64[(value >> shift) & 0x3F] for shift in (18, 12, 6, 0)]
        out.append("".join(digits[: len(group) + 1]))
    return "".join(out)
