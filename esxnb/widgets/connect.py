"""``ConnectForm``: a URI with live validation, credentials, and a Connect button -> ``form.connection``."""

from __future__ import annotations

import html
import os
from typing import Any

import ipywidgets as widgets
import traitlets

from .. import errors
from ..credentials import CredentialRequest, Credentials, request_credentials
from ..uri import URI, default_username, parse_uri
from ._common import BackgroundRunner, StatusArea, error_text

__all__ = ["ConnectForm"]

_REMEDIES: list[tuple[type[BaseException], str]] = [
    (
        errors.CertificateError,
        "Remedy: tick no_verify (adds no_verify=1 to the URI) to skip certificate verification, "
        "or pass ca_file= with the CA that signed the server's certificate.",
    ),
    (errors.AuthenticationError, "Remedy: check the user name and type the password again."),
    (
        errors.CredentialError,
        "Remedy: type the password, or set ESXNB_USERNAME/ESXNB_PASSWORD or an auth.conf entry for this host.",
    ),
    (errors.WrongServerTypeError, "Remedy: change the URI scheme to the kind of server found."),
    (
        errors.ConnectionFailedError,
        "Remedy: check the host name, the port and the transport (https, or ?transport=http).",
    ),
    (errors.NotFoundError, "Remedy: fix the URI path (datacenter/cluster/host names as in the inventory)."),
]


def remedy_for(exc: BaseException) -> str | None:
    for error_class, remedy in _REMEDIES:
        if isinstance(exc, error_class):
            return remedy
    return None


class ConnectForm(widgets.VBox):
    """Connect to an ESX/GSX host or a vCenter from a notebook.

    ``ConnectForm()`` starts from ``ESXNB_URI`` (and ``ESXNB_USERNAME``, ``ESXNB_CA_FILE``) when
    set. After a successful Connect, ``form.connection`` holds the :class:`esxnb.Connection`
    (an observable trait: other forms given this form follow it). The password boxes are
    read once by the credential callback and cleared right after the attempt; an empty
    password box falls back to auth.conf and ``ESXNB_PASSWORD``.
    """

    connection = traitlets.Any(None, allow_none=True)

    def __init__(
        self,
        uri: str | None = None,
        *,
        ca_file: str | None = None,
        timeout: float | None = 60,
    ) -> None:
        self.ca_file = ca_file if ca_file is not None else os.environ.get("ESXNB_CA_FILE") or None
        self.timeout = timeout
        self.parsed: URI | None = None
        self.parse_error: str | None = None
        self.vcenter_challenge: str | None = None
        self._syncing = False
        self._username_edited = False
        self._runner = BackgroundRunner()

        wide = widgets.Layout(width="36em")
        self.uri = widgets.Text(
            description="URI",
            placeholder="esx://host/  or  vpx://vcenter/datacenter/cluster/host",
            continuous_update=True,
            layout=wide,
        )
        self.parsed_view = widgets.HTML()
        self.username = widgets.Text(description="Username", layout=widgets.Layout(width="24em"))
        self.password = widgets.Password(description="Password", layout=widgets.Layout(width="24em"))
        self.no_verify = widgets.Checkbox(description="no_verify (skip certificate check)", indent=False)
        self.auto_answer = widgets.Checkbox(description="auto_answer (answer VM questions)", indent=False)
        self.vcenter_title = widgets.HTML()
        self.vcenter_username = widgets.Text(
            description="Username", value=default_username("vpx"), layout=widgets.Layout(width="24em")
        )
        self.vcenter_password = widgets.Password(description="Password", layout=widgets.Layout(width="24em"))
        self.vcenter_box = widgets.VBox(
            [self.vcenter_title, self.vcenter_username, self.vcenter_password],
            layout=widgets.Layout(display="none", border="1px solid #ccc", padding="4px"),
        )
        self.connect_button = widgets.Button(description="Connect", button_style="primary", icon="plug")
        self.status = StatusArea()

        self.uri.observe(self._on_uri, names="value")
        self.username.observe(self._on_username, names="value")
        self.no_verify.observe(lambda change: self._on_toggle("no_verify", change["new"]), names="value")
        self.auto_answer.observe(lambda change: self._on_toggle("auto_answer", change["new"]), names="value")
        self.connect_button.on_click(lambda _button: self.start_connect())

        super().__init__(
            [
                self.uri,
                self.parsed_view,
                self.username,
                self.password,
                widgets.HBox([self.no_verify, self.auto_answer]),
                self.vcenter_box,
                self.connect_button,
                self.status,
            ]
        )
        self.add_class("esxnb-connect-form")
        env_uri = os.environ.get("ESXNB_URI", "")
        self.uri.value = uri if uri is not None else env_uri
        if not self.uri.value:
            self._on_uri({"new": ""})
        if not self._username_edited and uri is None and env_uri and os.environ.get("ESXNB_USERNAME"):
            self._set_username(os.environ["ESXNB_USERNAME"])

    # -- live validation -----------------------------------------------------
    def _forget_connected_message(self) -> None:
        """A green "Connected to ..." describes the old URI or user: take it down once they change."""
        if self.status.kind == "ok":
            self.status.info("not connected with these settings yet: press Connect")

    def _on_uri(self, change: dict) -> None:
        self._forget_connected_message()
        text = change["new"].strip()
        if not text:
            self.parsed, self.parse_error = None, "enter a URI"
            self.parsed_view.value = "<span style='color:#555'>Enter an esx://, gsx:// or vpx:// URI.</span>"
            self.connect_button.disabled = True
            return
        try:
            self.parsed = parse_uri(text)
        except errors.URIError as exc:
            self.parsed, self.parse_error = None, str(exc)
            self.parsed_view.value = f"<span style='color:#b42318'>{html.escape(str(exc))}</span>"
            self.connect_button.disabled = True
            return
        self.parse_error = None
        self.connect_button.disabled = self._runner.busy
        self.parsed_view.value = self._describe(self.parsed)
        self._syncing = True
        try:
            self.no_verify.value = self.parsed.no_verify
            self.auto_answer.value = self.parsed.auto_answer
        finally:
            self._syncing = False
        if not self._username_edited:
            self._set_username(self.parsed.username or self.parsed.default_username)
        self._show_vcenter(self.parsed)

    @staticmethod
    def _describe(uri: URI) -> str:
        rows = [
            ("scheme", uri.scheme),
            ("host", uri.hostname),
            ("port", str(uri.port) + ("" if uri.port_given else " (default)")),
            ("transport", uri.transport),
            ("path", uri.path if uri.path_items else "/ (none)"),
        ]
        if uri.username:
            rows.append(("username", uri.username))
        if uri.vcenter is not None:
            rows.append(("vcenter", uri.vcenter))
        if uri.no_verify:
            rows.append(("no_verify", "1"))
        if uri.auto_answer:
            rows.append(("auto_answer", "1"))
        if uri.proxy is not None:
            rows.append(("proxy", str(uri.proxy)))
        cells = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table class='esxnb-parsed-uri' style='font-size:12px'>{cells}</table>"

    def _show_vcenter(self, uri: URI) -> None:
        if uri.vcenter is None or uri.scheme == "vpx":
            self.vcenter_box.layout.display = "none"
            return
        self.vcenter_box.layout.display = None
        if uri.vcenter == "*":
            where = (
                f"the vCenter managing {html.escape(uri.hostname)} "
                "(vcenter=*: its name is read from the host when connecting)"
            )
        else:
            where = f"vCenter <b>{html.escape(uri.vcenter)}</b>"
        self.vcenter_title.value = f"Credentials for {where}"

    def _set_username(self, value: str) -> None:
        self._syncing = True
        try:
            self.username.value = value
        finally:
            self._syncing = False

    def _on_username(self, change: dict) -> None:
        if not self._syncing:
            self._username_edited = True
            self._forget_connected_message()

    def _on_toggle(self, name: str, value: bool) -> None:
        if self._syncing or self.parsed is None or getattr(self.parsed, name) == value:
            return
        self.uri.value = str(self.parsed.replace(**{name: value}))

    # -- connecting ------------------------------------------------------------
    def _callback(self, password: widgets.Password, username: widgets.Text, scheme: str, record: bool) -> Any:
        """An auth callback that reads the password box once; a later call (re-login) is refused."""
        used = False

        def answer(challenge: str) -> Credentials:
            nonlocal used
            if record:
                self.vcenter_challenge = challenge
            if used:
                raise errors.CredentialError(
                    f"the form's password for {challenge} was used once and cleared; connect again with the form"
                )
            used = True
            name = username.value.strip() or default_username(scheme)
            secret = password.value
            if not secret:  # nothing typed: auth.conf, then ESXNB_PASSWORD
                request = CredentialRequest(challenge, scheme, default_username(scheme), username=name)
                return request_credentials(request, None)
            return Credentials(name, secret)

        return answer

    def _clear_passwords(self) -> None:
        self.password.value = ""
        self.vcenter_password.value = ""

    def start_connect(self) -> bool:
        """Connect in the background (what the button does); False when nothing was started."""
        if self.parsed is None:
            self.status.error(f"cannot connect: {self.parse_error}")
            return False
        uri = self.parsed
        host_auth = self._callback(self.password, self.username, uri.scheme, record=False)
        vcenter_auth = self._callback(self.vcenter_password, self.vcenter_username, "vpx", record=True)
        self.vcenter_challenge = None
        from ..connection import connect

        def job() -> Any:
            try:
                return connect(
                    uri, auth=host_auth, vcenter_auth=vcenter_auth, ca_file=self.ca_file, timeout=self.timeout
                )
            finally:
                self._clear_passwords()

        started = self._runner.start(
            job, on_done=self._connected, on_error=self._failed, on_finally=self._idle
        )
        if started:
            self.connect_button.disabled = True
            self.status.busy(f"connecting to {uri.hostname}:{uri.port} ...")
        return started

    def connect(self, timeout: float | None = None) -> Any:
        """Connect and wait; the new connection, or None on failure (the error is in the status).

        ``form.connection`` keeps the last good connection after a failed attempt.
        """
        if not self.start_connect() or not self.wait(timeout) or self._runner.last_error is not None:
            return None
        return self.connection

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a running connection attempt; True when it is over."""
        return self._runner.wait(timeout)

    def _idle(self) -> None:
        self.connect_button.disabled = self.parsed is None

    def _connected(self, connection: Any) -> None:
        previous = self.connection
        info = connection.info()
        text = (
            f"Connected to {info['name']} {info['version']} (build {info['build']}) "
            f"at {connection.uri.hostname} as {info['username']}"
        )
        details = []
        if info.get("host"):
            details.append(f"host {info['host']}")
        if info.get("datacenter"):
            details.append(f"datacenter {info['datacenter']}")
        vcenter = connection.vcenter
        if vcenter is not None and vcenter is not connection:
            vc_info = vcenter.info()
            details.append(
                f"vCenter {vcenter.uri.hostname} ({vc_info['name']} {vc_info['version']}) as {vc_info['username']}"
            )
            self.vcenter_title.value = (
                f"Credentials for vCenter <b>{html.escape(vcenter.uri.hostname)}</b> (used)"
            )
        self.status.ok(text, detail=", ".join(details) or None)
        self.connection = connection  # other forms following this one refresh now
        if previous is not None and previous is not connection:
            previous.close()

    def _failed(self, exc: BaseException) -> None:
        message = error_text(exc)
        if self.vcenter_challenge and isinstance(exc, (errors.AuthenticationError, errors.CredentialError)):
            message += f" (while logging into vCenter {self.vcenter_challenge})"
        self.status.error(message, detail=remedy_for(exc))
