"""Turning pyvmomi faults and transport failures into ``esxnb.errors``."""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from pyVmomi import vim, vmodl

from . import errors

__all__ = ["translate", "to_esxnb_error", "fault_message", "CERTIFICATE_REMEDY"]

CERTIFICATE_REMEDY = (
    "There are two ways to solve this: add the no_verify=1 extra parameter to the URI to disable "
    "server certificate verification, or install a certificate on the server signed by a CA known "
    "to this computer (or pass that CA with ca_file=...)"
)

# Checked in order: the first matching fault class decides the esxnb error.
_FAULT_MAP: list[tuple[type, type[errors.EsxnbError]]] = [
    (vim.fault.InvalidLogin, errors.AuthenticationError),
    (vim.fault.NotAuthenticated, errors.SessionExpiredError),
    (vim.fault.ToolsUnavailable, errors.ToolsNotAvailableError),
    (vim.fault.InvalidPowerState, errors.InvalidStateError),
    (vim.fault.InvalidState, errors.InvalidStateError),
    (vim.fault.AlreadyExists, errors.DomainExistsError),
    (vim.fault.DuplicateName, errors.DomainExistsError),
    (vim.fault.FileAlreadyExists, errors.DomainExistsError),
    (vim.fault.NotFound, errors.NotFoundError),
    (vim.fault.FileNotFound, errors.NotFoundError),
    (vmodl.fault.ManagedObjectNotFound, errors.NotFoundError),
    (vmodl.fault.RequestCanceled, errors.TaskError),
    (vim.fault.Timedout, errors.TaskTimeoutError),
]


def fault_message(fault: BaseException) -> str:
    """The server's own words for a fault (``msg``, else its faultMessage list, else its type)."""
    message = getattr(fault, "msg", None) or ""
    if not message:
        parts = [getattr(m, "message", "") for m in (getattr(fault, "faultMessage", None) or [])]
        message = "; ".join(p for p in parts if p)
    return message or type(fault).__name__


def to_esxnb_error(
    exc: BaseException, *, context: str = "", timeout: float | None = None
) -> errors.EsxnbError:
    """The esxnb error for any exception raised while talking to a server.

    ``timeout`` is the request timeout in force, named in the message when it ran out.
    """
    prefix = f"{context}: " if context else ""
    if isinstance(exc, errors.EsxnbError):
        return exc
    if isinstance(exc, vmodl.MethodFault):
        fault_type = type(exc).__name__
        text = f"{prefix}{fault_message(exc)}"
        for fault_class, error_class in _FAULT_MAP:
            if isinstance(exc, fault_class):
                if issubclass(error_class, errors.TaskError):
                    return error_class(text, fault_type=fault_type)
                error = error_class(f"{text} ({fault_type})")
                error.fault_type = fault_type  # type: ignore[attr-defined]
                return error
        return errors.ServerFault(text, fault_type=fault_type)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return errors.CertificateError(
            f"{prefix}the server's TLS certificate cannot be verified ({exc.verify_message}). {CERTIFICATE_REMEDY}"
        )
    if isinstance(exc, (socket.timeout, TimeoutError)):
        limit = (
            f"within {timeout:g} s (the request timeout, set with connect(timeout=...))"
            if timeout
            else "in time"
        )
        return errors.TimeoutError(f"{prefix}the server did not answer {limit} ({exc or 'timed out'})")
    if isinstance(exc, ssl.SSLError):
        return errors.ConnectionFailedError(f"{prefix}TLS failure: {exc.reason or exc}")
    if isinstance(exc, (ConnectionError, http.client.HTTPException, OSError)):
        return errors.ConnectionFailedError(f"{prefix}{type(exc).__name__}: {exc}")
    return errors.ServerFault(f"{prefix}{type(exc).__name__}: {exc}", fault_type=type(exc).__name__)


@contextmanager
def translate(context: str = "") -> Iterator[None]:
    """Re-raise anything a server call throws as an esxnb error (the cause is kept)."""
    try:
        yield
    except errors.EsxnbError:
        raise
    except (vmodl.MethodFault, OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise to_esxnb_error(exc, context=context) from exc
