"""ConnectForm driven headless: live URI validation, toggles, credentials, statuses, the connection made."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from esxnb import errors
from esxnb.simulator import Simulator, free_port_on
from esxnb.widgets import ConnectForm


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ESXNB_URI", "ESXNB_USERNAME", "ESXNB_PASSWORD", "ESXNB_CA_FILE", "LIBVIRT_AUTH_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-esxnb-test")


# -- live validation (no server) ----------------------------------------------------------


def test_parsed_fields_are_shown_live() -> None:
    form = ConnectForm("vpx://vc.example.com/dc1/cluster1/host1?transport=http&auto_answer=1")
    shown = form.parsed_view.value
    for text in ("vpx", "vc.example.com", "80 (default)", "http", "/dc1/cluster1/host1", "auto_answer"):
        assert text in shown
    assert form.auto_answer.value is True and form.no_verify.value is False
    assert form.username.value == "administrator"
    assert not form.connect_button.disabled


def test_uri_errors_are_shown_and_block_connect() -> None:
    form = ConnectForm("esx://host/?no_verify=yes")
    assert form.parsed is None
    assert "no_verify" in form.parsed_view.value and "should be 0 or 1" in form.parsed_view.value
    assert form.connect_button.disabled
    form.uri.value = "esx+ssh://host/"
    assert "client-side" in form.parse_error
    form.uri.value = "esx://host/"
    assert form.parsed is not None and not form.connect_button.disabled


def test_username_follows_the_scheme_until_edited() -> None:
    form = ConnectForm("esx://host/")
    assert form.username.value == "root"
    form.uri.value = "vpx://vc/"
    assert form.username.value == "administrator"
    form.uri.value = "gsx://someone@host/"
    assert form.username.value == "someone"
    form.username.value = "me"
    form.uri.value = "esx://host/"
    assert form.username.value == "me"


def test_toggles_edit_the_uri_and_follow_it() -> None:
    form = ConnectForm("esx://host:8443/")
    form.no_verify.value = True
    assert form.uri.value == "esx://host:8443/?no_verify=1"
    form.auto_answer.value = True
    assert form.uri.value == "esx://host:8443/?no_verify=1&auto_answer=1"
    form.no_verify.value = False
    assert form.uri.value == "esx://host:8443/?auto_answer=1"
    form.uri.value = "esx://host/?no_verify=1"
    assert form.no_verify.value is True and form.auto_answer.value is False


def test_vcenter_credentials_are_asked_with_the_vcenter_name() -> None:
    form = ConnectForm("esx://esx1.example.com/")
    assert form.vcenter_box.layout.display == "none"
    form.uri.value = "esx://esx1.example.com/?vcenter=vc.example.com"
    assert form.vcenter_box.layout.display is None
    assert "vc.example.com" in form.vcenter_title.value
    assert form.vcenter_username.value == "administrator"
    form.uri.value = "esx://esx1.example.com/?vcenter=*"
    assert "managing esx1.example.com" in form.vcenter_title.value


def test_default_uri_and_ca_file_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESXNB_URI", "vpx://vc.example.com/dc1")
    monkeypatch.setenv("ESXNB_USERNAME", "operator")
    monkeypatch.setenv("ESXNB_CA_FILE", "/some/ca.pem")
    form = ConnectForm()
    assert form.uri.value == "vpx://vc.example.com/dc1"
    assert form.username.value == "operator"
    assert form.ca_file == "/some/ca.pem"
    assert ConnectForm("esx://other/").username.value == "root"


def test_empty_uri_cannot_connect() -> None:
    form = ConnectForm()
    assert form.connect_button.disabled
    assert form.connect() is None
    assert form.status.kind == "error"


# -- against the simulator -------------------------------------------------------------------


@pytest.fixture(scope="module")
def vpx() -> Iterator[Simulator]:
    with Simulator("vpx", hosts=2, vms=1) as sim:
        yield sim


@pytest.mark.simulator
def test_connect_shows_product_and_version_and_clears_the_password(vpx: Simulator) -> None:
    form = ConnectForm(vpx.uri, ca_file=vpx.ca_file)
    form.password.value = vpx.password
    connection = form.connect(timeout=30)
    assert connection is not None and form.connection is connection
    about = connection.session.about
    assert about.apiType == "VirtualCenter"
    assert form.status.kind == "ok"
    assert about.version in form.status.text and about.build in form.status.text
    assert connection.location.host_name in form.status.value
    assert form.password.value == ""
    assert vpx.password not in repr(form) and vpx.password not in repr(connection)
    assert not form.connect_button.disabled
    # the connection really works
    assert connection.content.rootFolder.childEntity[0].name == "DC0"
    connection.close()


@pytest.mark.simulator
def test_certificate_error_suggests_no_verify_which_then_works(vpx: Simulator) -> None:
    form = ConnectForm(vpx.uri)
    form.password.value = vpx.password
    assert form.connect(timeout=30) is None
    assert form.status.kind == "error"
    assert "no_verify" in form.status.value and "certificate" in form.status.text
    assert isinstance(form._runner.last_error, errors.CertificateError)
    assert form.password.value == ""  # never kept, even after a failure
    form.no_verify.value = True
    assert "no_verify=1" in form.uri.value
    form.password.value = vpx.password
    connection = form.connect(timeout=30)
    assert connection is not None and connection.uri.no_verify
    connection.close()


@pytest.mark.simulator
def test_wrong_password_and_remedy(vpx: Simulator) -> None:
    form = ConnectForm(vpx.uri, ca_file=vpx.ca_file)
    form.password.value = vpx.password + "-wrong"
    assert form.connect(timeout=30) is None
    assert "refused the credentials" in form.status.text
    assert "check the user name" in form.status.value
    assert vpx.password not in form.status.value
    assert form.connection is None


@pytest.mark.simulator
def test_empty_password_falls_back_to_the_environment(
    vpx: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = ConnectForm(vpx.uri, ca_file=vpx.ca_file)
    assert form.connect(timeout=30) is None
    assert "no credentials for 127.0.0.1" in form.status.text
    monkeypatch.setenv("ESXNB_PASSWORD", vpx.password)
    connection = form.connect(timeout=30)
    assert connection is not None
    assert connection.session.username == vpx.username
    connection.close()


@pytest.mark.simulator
def test_button_click_connects_in_the_background(vpx: Simulator) -> None:
    vpx.set_delay("RetrieveServiceContent", 1.0)
    try:
        form = ConnectForm(vpx.uri_with(no_verify=1))
        form.password.value = vpx.password
        form.connect_button.click()
        # the kernel is not blocked: the click returned while the 1 s login is still under way
        assert not form.wait(0) and form.connection is None
        assert form.connect_button.disabled and form.status.kind == "busy"
        assert form.wait(30)
    finally:
        vpx.clear_faults()
    assert form.connection is not None and form.status.kind == "ok"
    form.connection.close()


@pytest.mark.simulator
def test_the_password_is_not_kept_for_a_later_login(tmp_path: Path) -> None:
    with Simulator("esx", vms=1, session_idle_timeout=1) as sim:
        form = ConnectForm(sim.uri, ca_file=sim.ca_file)
        form.password.value = sim.password
        connection = form.connect(timeout=30)
        assert connection is not None
        time.sleep(3)  # the server forgets the session after 1-2x its idle timeout
        with pytest.raises(errors.SessionExpiredError, match="used once and cleared"):
            connection.content.sessionManager.currentSession  # noqa: B018 - any call needing the session
        connection.close()


VC_IP, ESX_IP = "127.0.0.3", "127.0.0.2"


@pytest.mark.simulator
def test_vcenter_credentials_go_to_the_vcenter(tmp_path: Path) -> None:
    port = free_port_on(VC_IP, ESX_IP)
    with Simulator("vpx", listen=VC_IP, port=port, clusters=0, standalone_hosts=1, hosts=0, vms=1) as vc:
        with Simulator("esx", listen=ESX_IP, port=port, managed_by=vc, host_name="DC0_H0") as esx:
            assert vc.password != esx.password
            bundle = tmp_path / "bundle.pem"
            bundle.write_text(Path(vc.ca_file).read_text() + Path(esx.ca_file).read_text())
            form = ConnectForm(f"esx://{ESX_IP}:{port}/?vcenter=*", ca_file=str(bundle))
            assert form.vcenter_box.layout.display is None
            form.password.value = esx.password
            form.vcenter_username.value = vc.username
            form.vcenter_password.value = vc.password
            connection = form.connect(timeout=30)
            assert connection is not None, form.status.text
            assert form.vcenter_challenge == VC_IP
            assert connection.vcenter is not None and connection.vcenter.session.username == vc.username
            assert connection.vcenter.session.about.apiType == "VirtualCenter"
            assert f"vCenter {VC_IP}" in form.status.value and VC_IP in form.vcenter_title.value
            assert form.vcenter_password.value == "" and form.password.value == ""
            connection.close()

            # the vCenter password typed into the host's box is refused by the vCenter, named
            form.password.value = esx.password
            form.vcenter_password.value = esx.password
            assert form.connect(timeout=30) is None
            assert "refused the credentials" in form.status.text and VC_IP in form.status.text


@pytest.mark.simulator
def test_a_stale_connected_message_goes_when_the_uri_or_user_changes(vpx: Simulator) -> None:
    form = ConnectForm(vpx.uri, ca_file=vpx.ca_file)
    form.password.value = vpx.password
    connection = form.connect(timeout=30)
    assert form.status.kind == "ok" and "Connected to" in form.status.text
    form.uri.value = vpx.uri.replace(f":{vpx.port}/", ":1/")
    assert (
        form.status.kind == "info"
        and "Connected" not in form.status.text
        and "press Connect" in form.status.text
    )
    form.uri.value = vpx.uri
    form.password.value = vpx.password
    form.connect(timeout=30)
    assert form.status.kind == "ok"
    form.username.value = "somebody-else"
    assert "Connected" not in form.status.text
    connection.close()
    form.connection.close()


@pytest.mark.simulator
def test_esx_uri_to_a_vcenter_says_wrong_server_type_not_wrong_password(vpx: Simulator) -> None:
    form = ConnectForm(f"esx://{vpx.host}:{vpx.port}/", ca_file=vpx.ca_file)
    form.password.value = "whatever"
    assert form.connect(timeout=30) is None
    assert form.status.kind == "error"
    assert "to be an ESX host but found" in form.status.text and "password" not in form.status.text.lower()
    assert "change the URI scheme" in form.status.value
