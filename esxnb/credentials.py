"""Where user names and passwords come from.

A request carries the host name as its challenge (so a callback can tell an ESX host
from its vCenter) and the scheme's default user name. Sources, in order: an explicit
``(username, password)`` pair, a callback ``auth(challenge) -> (username, password)``,
libvirt's ``auth.conf``, the environment (``ESXNB_USERNAME`` / ``ESXNB_PASSWORD``), and
finally an interactive prompt when a terminal is attached.
"""

from __future__ import annotations

import configparser
import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from .errors import CredentialError

__all__ = [
    "AuthSource",
    "Credentials",
    "CredentialRequest",
    "auth_conf_paths",
    "lookup_auth_conf",
    "prompt_credentials",
    "request_credentials",
]


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class CredentialRequest:
    """What is being asked for: ``challenge`` is the host name, as libvirt passes it."""

    challenge: str
    scheme: str
    default_username: str
    username: str | None = None  # from the URI, when it names one


AuthCallback = Callable[[str], "tuple[str, str] | Credentials | None"]
AuthSource = Union[tuple[str, str], Credentials, AuthCallback, None]


def auth_conf_paths() -> list[Path]:
    """libvirt's search order for auth.conf."""
    if os.environ.get("LIBVIRT_AUTH_FILE"):
        return [Path(os.environ["LIBVIRT_AUTH_FILE"])]
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [config_home / "libvirt" / "auth.conf", Path("/etc/libvirt/auth.conf")]


def lookup_auth_conf(request: CredentialRequest, paths: list[Path] | None = None) -> Credentials | None:
    """Credentials from the first auth.conf with a matching ``auth-<scheme>-<host>`` section.

    libvirt's own driver always uses the service name ``esx``; ``auth-vpx-HOST`` and
    ``auth-gsx-HOST`` are tried first, then ``auth-esx-HOST``, then the ``-default`` sections.
    """
    for path in paths if paths is not None else auth_conf_paths():
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser(strict=False, comment_prefixes=("#", ";"))
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise CredentialError(f"cannot read {path}: {type(exc).__name__} at {_where(exc)}") from None
        services = dict.fromkeys([request.scheme, "esx"])
        for host in (request.challenge, "default"):
            for service in services:
                section = f"auth-{service}-{host}"
                if not parser.has_section(section):
                    continue
                ref = parser.get(section, "credentials", fallback=None)
                if not ref:
                    raise CredentialError(f"{path}: section [{section}] has no 'credentials' key")
                cred_section = f"credentials-{ref}"
                if not parser.has_section(cred_section):
                    raise CredentialError(f"{path}: section [{section}] refers to missing [{cred_section}]")
                username = parser.get(cred_section, "username", fallback=None)
                password = parser.get(cred_section, "password", fallback=None)
                if request.username and username and username != request.username:
                    continue
                if password is None:
                    raise CredentialError(f"{path}: section [{cred_section}] has no 'password' key")
                return Credentials(request.username or username or request.default_username, password)
    return None


def _where(exc: BaseException) -> str:
    lineno = getattr(exc, "lineno", None)
    return f"line {lineno}" if lineno else "an unknown line"


def _from_environment(request: CredentialRequest) -> Credentials | None:
    password = os.environ.get("ESXNB_PASSWORD")
    if password is None:
        return None
    username = request.username or os.environ.get("ESXNB_USERNAME") or request.default_username
    return Credentials(username, password)


def _prompt(request: CredentialRequest) -> Credentials | None:
    if not (sys.stdin and sys.stdin.isatty()):
        return None
    return prompt_credentials(request)


def prompt_credentials(request: CredentialRequest) -> Credentials:
    """Ask for the user name (when the request has none) and the password, as virsh does."""
    username = request.username
    if not username:
        answer = input(f"Enter username for {request.challenge} [{request.default_username}]: ").strip()
        username = answer or request.default_username
    password = getpass.getpass(f"Enter {username}'s password for {request.challenge}: ")
    return Credentials(username, password)


def _normalise(result: object, request: CredentialRequest, origin: str) -> Credentials | None:
    if result is None:
        return None
    if isinstance(result, Credentials):
        return result
    if (
        isinstance(result, tuple)
        and len(result) == 2
        and all(isinstance(v, (str, type(None))) for v in result)
    ):
        username, password = result
        if password is None:
            raise CredentialError(f"{origin} gave no password for {request.challenge}")
        return Credentials(request.username or username or request.default_username, password)
    raise CredentialError(f"{origin} must give (username, password), not {type(result).__name__}")


def request_credentials(request: CredentialRequest, auth: AuthSource = None) -> Credentials:
    """Ask every source in turn; raise CredentialError naming the host when none answers."""
    if callable(auth):
        try:
            result = auth(request.challenge)
        except CredentialError:
            raise
        except Exception as exc:  # a user callback failing is a credential problem, not a crash
            raise CredentialError(
                f"the auth callback failed for {request.challenge}: {type(exc).__name__}"
            ) from None
        found = _normalise(result, request, "the auth callback")
    elif auth is not None:
        found = _normalise(auth, request, "auth")
    else:
        found = lookup_auth_conf(request) or _from_environment(request) or _prompt(request)
    if found is None:
        raise CredentialError(
            f"no credentials for {request.challenge}: pass auth=(username, password) or a callback, "
            f"add an [auth-{request.scheme}-{request.challenge}] section to auth.conf "
            f"({', '.join(str(p) for p in auth_conf_paths())}), set ESXNB_USERNAME/ESXNB_PASSWORD, "
            "or run in a terminal to be prompted"
        )
    return found
