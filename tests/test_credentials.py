"""Credential sources: explicit, callback with the host as challenge, auth.conf, environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from esxnb.credentials import CredentialRequest, Credentials, lookup_auth_conf, request_credentials
from esxnb.errors import CredentialError

AUTH_CONF = """
[credentials-esxadmin]
username=root
password=host-secret

[credentials-vc]
username=administrator@vsphere.local
password=vc-secret

[auth-esx-esx1.example.com]
credentials=esxadmin

[auth-vpx-vc.example.com]
credentials=vc

[auth-esx-default]
credentials=esxadmin
"""


@pytest.fixture
def auth_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "auth.conf"
    path.write_text(AUTH_CONF)
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(path))
    monkeypatch.delenv("ESXNB_PASSWORD", raising=False)
    return path


def req(host: str, scheme: str = "esx", username: str | None = None) -> CredentialRequest:
    return CredentialRequest(
        challenge=host,
        scheme=scheme,
        default_username="root" if scheme != "vpx" else "administrator",
        username=username,
    )


def test_callback_gets_host_name_as_challenge() -> None:
    seen = []

    def auth(challenge: str) -> tuple[str, str]:
        seen.append(challenge)
        return ("admin" if challenge.startswith("vc") else "root", f"pw-{challenge}")

    assert request_credentials(req("esx1"), auth) == Credentials("root", "pw-esx1")
    assert request_credentials(req("vc1", "vpx"), auth) == Credentials("admin", "pw-vc1")
    assert seen == ["esx1", "vc1"]


def test_callback_username_none_takes_default_and_uri_username_wins() -> None:
    assert request_credentials(req("h"), lambda c: (None, "pw")).username == "root"
    assert request_credentials(req("h", username="ops"), lambda c: ("x", "pw")).username == "ops"


def test_callback_failures_are_credential_errors_without_secrets() -> None:
    with pytest.raises(CredentialError, match="must give"):
        request_credentials(req("h"), lambda c: "just-a-string")
    with pytest.raises(CredentialError, match="no password"):
        request_credentials(req("h"), lambda c: ("root", None))

    def broken(challenge: str) -> tuple[str, str]:
        raise RuntimeError("password=hunter2")

    with pytest.raises(CredentialError) as info:
        request_credentials(req("h"), broken)
    assert "hunter2" not in str(info.value)


def test_explicit_pair() -> None:
    assert request_credentials(req("h"), ("me", "pw")) == Credentials("me", "pw")


def test_auth_conf_sections(auth_conf: Path) -> None:
    assert lookup_auth_conf(req("esx1.example.com")) == Credentials("root", "host-secret")
    assert lookup_auth_conf(req("vc.example.com", "vpx")) == Credentials(
        "administrator@vsphere.local", "vc-secret"
    )
    # auth-esx-default answers any esx host
    assert lookup_auth_conf(req("other.example.com")) == Credentials("root", "host-secret")
    assert request_credentials(req("esx1.example.com")) == Credentials("root", "host-secret")


def test_auth_conf_broken_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "auth.conf"
    path.write_text("[auth-esx-h]\ncredentials=nope\n")
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(path))
    with pytest.raises(CredentialError, match=r"refers to missing \[credentials-nope\]"):
        lookup_auth_conf(req("h"))


def test_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIBVIRT_AUTH_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "libvirt").mkdir()
    (tmp_path / "libvirt" / "auth.conf").write_text(AUTH_CONF)
    assert lookup_auth_conf(req("esx1.example.com")) == Credentials("root", "host-secret")


def test_environment_then_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBVIRT_AUTH_FILE", str(tmp_path / "none.conf"))
    monkeypatch.setenv("ESXNB_USERNAME", "envuser")
    monkeypatch.setenv("ESXNB_PASSWORD", "envpw")
    assert request_credentials(req("h")) == Credentials("envuser", "envpw")
    monkeypatch.delenv("ESXNB_PASSWORD")
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(CredentialError, match="no credentials for h"):
        request_credentials(req("h"))


def test_repr_hides_password() -> None:
    assert "pw-secret" not in repr(Credentials("u", "pw-secret"))
    assert "pw-secret" not in str(Credentials("u", "pw-secret"))
