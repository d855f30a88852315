"""One authenticated SOAP session with a vSphere server (an ESX host or a vCenter)."""

from __future__ import annotations

import logging
import select
import ssl
import threading
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from pyVim import connect as _pyvim_connect
from pyVmomi import SoapStubAdapter
from pyVmomi import vim
from pyVmomi.SoapAdapter import StubAdapterBase

from . import errors
from ._faults import CERTIFICATE_REMEDY, to_esxnb_error, translate
from .credentials import AuthSource, CredentialRequest, request_credentials
from .uri import URI, Proxy

__all__ = ["Session", "make_ssl_context"]

log = logging.getLogger("esxnb")

DEFAULT_TIMEOUT = 60.0


def make_ssl_context(no_verify: bool, ca_file: str | None = None) -> ssl.SSLContext:
    """Verification against the system CA pool (or ``ca_file``) unless ``no_verify``."""
    if no_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise errors.CertificateError(f"cannot load the CA bundle {ca_file!r}: {exc}") from None


def _find_api_version(
    transport: str, host: str, port: int, context: ssl.SSLContext | None, proxy: dict
) -> str:
    """The newest API version both pyvmomi and the server speak (from /sdk/vimServiceVersions.xml).

    pyvmomi's SmartStubAdapter does this too, but breaks for plain http (it puts its negative
    "no TLS" port into the discovery URL), so its discovery step is called directly.
    """
    find = getattr(_pyvim_connect, "__FindSupportedVersion")
    version = find(
        transport,
        host,
        port,
        "/sdk",
        _pyvim_connect.GetServiceVersions("vim25"),
        context,
        proxy.get("httpProxyHost"),
        proxy.get("httpProxyPort", 80),
        None,
    )
    if version is None:
        raise errors.ConnectionFailedError(
            f"{transport}://{host}:{port}/sdk is down or is not a vSphere API server"
        )
    return version


def _dropped(connection: Any) -> bool:
    """Whether a pooled, idle HTTP connection was closed or reset by the other side.

    An idle keep-alive socket has nothing to read: if it is readable, the server (or a load
    balancer, NAT, proxy) closed it and EOF or RST is waiting.
    """
    sock = getattr(connection, "sock", None)
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _SoapStub(SoapStubAdapter):
    """pyvmomi's SOAP stub, except that it never hands out a pooled connection the server closed.

    pyvmomi reuses pooled connections unchecked, so the first call after the server closed an
    idle one (restart, idle timeout, network blip) failed although nothing was wrong any more;
    retrying calls instead would repeat non-idempotent requests (power on, relocate).
    """

    def GetConnection(self) -> Any:  # noqa: N802 - pyvmomi's name
        with self.lock:
            stale = [item for item in self.pool if _dropped(item[0])]
            if stale:
                self.pool = [item for item in self.pool if item not in stale]
        for connection, _ in stale:
            connection.close()
        return super().GetConnection()


class _ReloginStub(StubAdapterBase):
    """Calls through a SOAP stub and logs in again, once, when the session has expired.

    pyvmomi's own SessionOrientedStub also retries socket errors, which would repeat
    non-idempotent calls (power on, relocate) after a dropped connection; this one doesn't.
    """

    def __init__(self, soap_stub: Any, relogin: Any, timeout: float | None, check_open: Any) -> None:
        self.soapStub = soap_stub
        super().__init__(version=soap_stub.version)
        self._relogin = relogin
        self._check_open = check_open
        self._timeout = timeout
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name == "soapStub":
            raise AttributeError(name)
        return getattr(self.soapStub, name)

    def InvokeMethod(self, mo: Any, info: Any, args: Any) -> Any:  # noqa: N802 - pyvmomi's name
        if info.name != "Logout":
            self._check_open()
        try:
            return self._invoke(mo, info, args)
        except TimeoutError as exc:  # the socket timeout: name the limit that ran out
            raise to_esxnb_error(exc, context=info.name, timeout=self._timeout) from exc

    def _invoke(self, mo: Any, info: Any, args: Any) -> Any:
        cookie_before = self.soapStub.cookie
        status, obj = self.soapStub.InvokeMethod(mo, info, args, self)
        if (
            status != 200
            and isinstance(obj, vim.fault.NotAuthenticated)
            and info.name not in ("Login", "Logout")
        ):
            with self._lock:
                if self.soapStub.cookie == cookie_before:  # another thread may have logged in already
                    self._relogin()
            status, obj = self.soapStub.InvokeMethod(mo, info, args, self)
        if status == 200:
            return obj
        raise obj


class Session:
    """A logged-in session: ``si`` (ServiceInstance), ``content``, ``about``."""

    def __init__(
        self,
        uri: URI,
        hostname: str,
        *,
        auth: AuthSource = None,
        username: str | None = None,
        default_username: str,
        scheme: str,
        ca_file: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        check_server: Callable[[Session], None] | None = None,
    ) -> None:
        """``check_server(session)`` runs once the server said what it is and before any
        credentials are sent to it (a wrong server type never sees the password)."""
        self.hostname = hostname
        self.port = uri.port
        self.transport = uri.transport
        self.no_verify = uri.no_verify
        self.timeout = timeout
        self._request = CredentialRequest(
            challenge=hostname, scheme=scheme, default_username=default_username, username=username
        )
        self._auth = auth
        self.username: str | None = None
        self.closed = False
        self.ssl_context = make_ssl_context(uri.no_verify, ca_file) if uri.transport == "https" else None
        self._soap = self._make_stub(uri.proxy)
        self._stub = _ReloginStub(self._soap, self._login_again, timeout, self.check_open)
        self.si = vim.ServiceInstance("ServiceInstance", self._stub)
        with translate(f"cannot talk to {self.url}"):
            self.content = self.si.RetrieveContent()
        self.about = self.content.about
        if check_server is not None:
            try:
                check_server(self)
            except BaseException:
                self._soap.DropConnections()
                raise
        self._login(first=True)

    @property
    def url(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{self.transport}://{host}:{self.port}/sdk"

    @property
    def stub(self) -> Any:
        return self._stub

    @property
    def session_cookie(self) -> str | None:
        """The ``vmware_soap_session`` cookie value, for the datastore file interface."""
        morsel = SimpleCookie(self._soap.cookie or "").get("vmware_soap_session")
        return morsel.value if morsel else None

    def _make_stub(self, proxy: Proxy | None) -> Any:
        kwargs: dict[str, Any] = {}
        if proxy is not None:
            if proxy.is_socks:
                raise errors.ProxyError(
                    f"{proxy.type} proxies are not supported yet (proxy={proxy}); use an http proxy "
                    "(proxy=http://host:port) or connect directly"
                )
            kwargs.update(httpProxyHost=proxy.hostname, httpProxyPort=proxy.port)
        try:
            version = _find_api_version(self.transport, self.hostname, self.port, self.ssl_context, kwargs)
            return _SoapStub(
                host=self.hostname,
                # pyvmomi's convention: a negative port means plain http
                port=self.port if self.transport == "https" else -self.port,
                version=version,
                sslContext=self.ssl_context,
                httpConnectionTimeout=self.timeout,
                connectionPoolTimeout=-1,
                **kwargs,
            )
        except ssl.SSLCertVerificationError as exc:
            raise errors.CertificateError(
                f"the TLS certificate of {self.url} cannot be verified ({exc.verify_message}). {CERTIFICATE_REMEDY}"
            ) from None
        except Exception as exc:  # pyvmomi raises a bare Exception when no vSphere API answers
            error = to_esxnb_error(exc, context=f"cannot connect to {self.url}")
            if type(error) is errors.ServerFault:
                error = errors.ConnectionFailedError(
                    f"cannot connect to {self.url}: no vSphere API answered there "
                    f"(check the host name, port {self.port} and transport {self.transport})"
                )
            if proxy is not None and type(error) is errors.ConnectionFailedError:
                error = errors.ProxyError(f"{error} (through proxy {proxy})")
            raise error from None

    def _login(self, *, first: bool) -> None:
        credentials = request_credentials(self._request, self._auth)
        try:
            with translate(f"cannot log into {self.hostname}"):
                self.content.sessionManager.Login(credentials.username, credentials.password, None)
        except errors.AuthenticationError:
            raise errors.AuthenticationError(
                f"{self.hostname} refused the credentials of user {credentials.username!r} "
                "(wrong user name or password)"
            ) from None
        self.username = credentials.username
        if first and self.no_verify:
            log.warning("TLS certificate verification is disabled for %s (no_verify=1)", self.hostname)

    def _login_again(self) -> None:
        try:
            self._login(first=False)
        except errors.CredentialError as exc:
            raise errors.SessionExpiredError(
                f"the session with {self.hostname} expired and no credentials could be asked again: {exc}"
            ) from None

    def check_open(self) -> None:
        """Raise :class:`~esxnb.errors.ConnectionClosedError` once :meth:`logout` ran."""
        if self.closed:
            raise errors.ConnectionClosedError(
                f"the connection to {self.hostname} was closed; connect again to use it (esxnb.connect)"
            )

    def logout(self) -> None:
        self.closed = True
        try:
            self.content.sessionManager.Logout()
        except Exception:  # closing must not fail because the server or session is already gone
            pass
        finally:
            self._soap.DropConnections()
