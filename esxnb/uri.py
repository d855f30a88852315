"""libvirt-style ESX URIs: ``type://[username@]hostname[:port]/[path][?extraparameters]``."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import UnsupportedTransportError, URIError

__all__ = ["URI", "Proxy", "parse_uri", "default_port", "default_username", "hide_passwords", "SCHEMES"]

SCHEMES = ("esx", "gsx", "vpx")
TRANSPORTS = ("https", "http")
PROXY_TYPES = ("http", "socks", "socks4", "socks4a", "socks5")
PARAMETERS = ("transport", "vcenter", "no_verify", "auto_answer", "proxy")

_DEFAULT_PORTS = {
    ("esx", "https"): 443,
    ("vpx", "https"): 443,
    ("gsx", "https"): 8333,
    ("esx", "http"): 80,
    ("vpx", "http"): 80,
    ("gsx", "http"): 8222,
}
_DEFAULT_USERS = {"esx": "root", "gsx": "root", "vpx": "administrator"}

# What the spec says about libvirt's remote transports on ESX URIs.
_CLIENT_SIDE_ONLY = (
    "the ESX driver is a client-side-only driver: it connects to the server itself over "
    "HTTP(S), so the remote transport mechanism of libvirtd does not apply and URIs like "
    "{scheme}://... cannot work; use {base}://{rest} (with ?transport=http for plain HTTP)"
)


def default_port(scheme: str, transport: str = "https") -> int:
    return _DEFAULT_PORTS[(scheme, transport)]


def default_username(scheme: str) -> str:
    """``root`` for esx/gsx, ``administrator`` for vpx, as libvirt asks."""
    return _DEFAULT_USERS[scheme]


@dataclass(frozen=True)
class Proxy:
    """The ``proxy`` extra parameter: ``[type://]hostname[:port]``."""

    type: str = "http"
    hostname: str = ""
    port: int = 1080

    def __str__(self) -> str:
        return f"{self.type}://{_host_text(self.hostname)}:{self.port}"

    @property
    def is_socks(self) -> bool:
        return self.type.startswith("socks")


@dataclass(frozen=True)
class URI:
    """A parsed ESX driver URI. ``port`` is the effective port (the default when none was given)."""

    scheme: str
    hostname: str
    port: int
    username: str | None = None
    path: str = "/"  # as written in the URI (percent-escapes kept); see path_items
    transport: str = "https"
    vcenter: str | None = None
    no_verify: bool = False
    auto_answer: bool = False
    proxy: Proxy | None = None
    port_given: bool = field(default=False, compare=False, repr=False)

    @property
    def path_items(self) -> tuple[str, ...]:
        """The path's non-empty parts, e.g. ``('folder1', 'dc1', 'cluster1', 'host')``."""
        return tuple(unquote(item) for item in self.path.split("/") if item)

    @property
    def default_username(self) -> str:
        return default_username(self.scheme)

    @property
    def server_url(self) -> str:
        """Where the SOAP API lives, e.g. ``https://host:443/sdk``."""
        return f"{self.transport}://{_host_text(self.hostname)}:{self.port}/sdk"

    def replace(self, **changes: object) -> URI:
        """A copy with fields changed; the port follows a new scheme or transport unless given."""
        if ("scheme" in changes or "transport" in changes) and "port" not in changes and not self.port_given:
            scheme = str(changes.get("scheme", self.scheme))
            changes["port"] = default_port(scheme, str(changes.get("transport", self.transport)))
        if "port" in changes:
            changes.setdefault("port_given", True)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def __str__(self) -> str:
        user = f"{quote(self.username, safe='')}@" if self.username else ""
        port = (
            f":{self.port}"
            if self.port_given or self.port != default_port(self.scheme, self.transport)
            else ""
        )
        path = "/".join(item for item in self.path.split("/") if item)
        params = []
        if self.transport != "https":
            params.append(f"transport={self.transport}")
        if self.vcenter is not None:
            params.append(f"vcenter={quote(self.vcenter, safe='*:[]')}")
        if self.no_verify:
            params.append("no_verify=1")
        if self.auto_answer:
            params.append("auto_answer=1")
        if self.proxy is not None:
            params.append(f"proxy={self.proxy}")
        query = "?" + "&".join(params) if params else ""
        return f"{self.scheme}://{user}{_host_text(self.hostname)}{port}/{path}{query}"


# The password of a ``user:password@`` anywhere in a piece of input (the URI's own or a proxy's).
# ``&`` may be part of a password, so it does not end one: in a query that masks a little more.
_PASSWORD = re.compile(r":[^/?#]*@")


def hide_passwords(text: str) -> str:
    """``text`` with the password of every ``user:password@`` in it masked (``user:***@``)."""
    return _PASSWORD.sub(":***@", text)


def _shown(value: str, limit: int = 80) -> str:
    """``repr(value)`` for an error message: passwords masked, cut short so a huge input does not
    make a huge message. Every piece of input an error repeats goes through here."""
    value = hide_passwords(value)
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value) - limit} more characters)"


def _host_text(hostname: str) -> str:
    return f"[{hostname}]" if ":" in hostname else hostname


def parse_uri(text: str) -> URI:
    """Parse an ``esx://``, ``gsx://`` or ``vpx://`` URI as libvirt's ESX driver does."""
    if not isinstance(text, str):
        raise URIError(f"URI must be a string, not {type(text).__name__}")
    text = text.strip()
    bad = next((i for i, c in enumerate(text) if c.isspace() or unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        char = text[bad]
        kind = "control" if unicodedata.category(char) == "Cc" else "white-space"
        what = "a space" if char == " " else f"the {kind} character U+{ord(char):04X}"
        raise URIError(
            f"URI contains {what} at position {bad + 1}: percent-encode it (a space is %20), as libvirt requires"
        )
    if "://" not in text:
        raise URIError(
            f"{_shown(text)} is not a URI: expected type://[username@]hostname[:port]/[path][?parameters]"
        )
    raw_scheme = text.split("://", 1)[0].lower()
    if "+" in raw_scheme:
        base, _, transport = raw_scheme.partition("+")
        if base in SCHEMES:
            # A form to copy: the passwords are dropped (user@host), not masked.
            rest = _PASSWORD.sub("@", text.split("://", 1)[1])
            raise UnsupportedTransportError(
                f"{raw_scheme}:// is not supported: "
                + _CLIENT_SIDE_ONLY.format(scheme=raw_scheme, base=base, rest=rest)
            )
    if raw_scheme not in SCHEMES:
        raise URIError(f"unknown URI scheme {_shown(raw_scheme)}: expected one of esx://, gsx://, vpx://")
    try:
        parts = urlsplit(text)
        port_text = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        raise URIError(f"malformed URI: {exc} (expected a port number 1..65535)") from None
    if parts.password is not None:
        raise URIError(
            "a password in the URI is not accepted; give it through auth=, auth.conf, "
            "the environment or the prompt"
        )
    hostname = parts.hostname
    if not hostname:
        raise URIError("URI has no hostname: expected type://[username@]hostname[:port]/...")
    if parts.fragment:
        raise URIError(f"URI has an unexpected fragment #{parts.fragment}")
    params = _parse_parameters(parts.query)
    transport = params.get("transport", "https")
    port = port_text if port_text is not None else default_port(raw_scheme, transport)
    if not 1 <= port <= 65535:
        raise URIError(f"port {port} is out of range (should be 1..65535)")
    path = "/" + "/".join(item for item in parts.path.split("/") if item)
    return URI(
        scheme=raw_scheme,
        hostname=hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        path=path,
        transport=transport,
        vcenter=params.get("vcenter"),
        no_verify=params.get("no_verify", False),
        auto_answer=params.get("auto_answer", False),
        proxy=params.get("proxy"),
        port_given=port_text is not None,
    )


def _parse_parameters(query: str) -> dict:
    values: dict = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise URIError(
            f"malformed query string {_shown(query)}: expected name=value pairs joined by &"
        ) from None
    for name, value in pairs:
        key = name.lower()
        if key == "transport":
            if value not in TRANSPORTS:
                raise URIError(
                    f"query parameter 'transport' has unexpected value {_shown(value)} (should be http|https)"
                )
            values[key] = value
        elif key == "vcenter":
            if not value:
                raise URIError("query parameter 'vcenter' is empty (should be a hostname or *)")
            values[key] = value
        elif key in ("no_verify", "auto_answer"):
            if value.strip() not in ("0", "1"):
                raise URIError(
                    f"query parameter {key!r} has unexpected value {_shown(value)} (should be 0 or 1)"
                )
            values[key] = value.strip() == "1"
        elif key == "proxy":
            values[key] = _parse_proxy(value)
        else:
            raise URIError(f"unknown query parameter {_shown(name)} (known: {', '.join(PARAMETERS)})")
    return values


def _parse_proxy(value: str) -> Proxy:
    proxy_type = "http"
    rest = value
    if "://" in value:
        proxy_type, rest = value.split("://", 1)
        proxy_type = proxy_type.lower()
        if proxy_type not in PROXY_TYPES:
            raise URIError(
                f"query parameter 'proxy' contains unexpected type {_shown(proxy_type)} "
                "(should be http, socks, socks4, socks4a or socks5)"
            )
        if proxy_type == "socks":
            proxy_type = "socks5"
    port = 1080
    if "@" in rest:
        # never echo what follows: it would be the proxy's password
        raise URIError(
            "query parameter 'proxy' must not contain credentials (user:password@): "
            "proxies with authentication are not supported"
        )
    if rest.startswith("["):
        hostname, bracket, tail = rest[1:].partition("]")
        if not bracket:
            raise URIError(f"query parameter 'proxy' has an unclosed IPv6 address in {_shown(value)}")
        port_text = tail[1:] if tail.startswith(":") else None
        if tail and port_text is None:
            raise URIError(f"query parameter 'proxy' has unexpected text {_shown(tail)} after the address")
    else:
        hostname, colon, port_text = rest.partition(":")
        port_text = port_text if colon else None
    if not hostname or not re.fullmatch(r"[\w.:%-]+", hostname):
        raise URIError(
            f"query parameter 'proxy' doesn't contain a hostname: {_shown(value)} (expected [type://]hostname[:port])"
        )
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise URIError(
                f"query parameter 'proxy' has unexpected port value {_shown(port_text)} (should be [1..65535])"
            )
        port = int(port_text)
    return Proxy(type=proxy_type, hostname=hostname, port=port)
