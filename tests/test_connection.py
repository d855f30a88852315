"""Connections against the real simulator, in ESX and vCenter modes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from pyVmomi import vim

import esxnb
from esxnb import errors
from esxnb.simulator import Simulator, free_port_on
from helpers import ConnectProxy, connect_to

pytestmark = pytest.mark.simulator


def creds(sim: Simulator) -> tuple[str, str]:
    return (sim.username, sim.password)


def test_connect_both_modes(sim: Simulator) -> None:
    with esxnb.connect(sim.uri, auth=creds(sim), ca_file=sim.ca_file) as conn:
        info = conn.info()
        assert info["api_type"] == ("VirtualCenter" if sim.mode == "vpx" else "HostAgent")
        assert info["username"] == sim.username
        assert isinstance(conn.host, vim.HostSystem)
        assert conn.host.name == info["host"]
        assert sim.password not in repr(conn)
        assert conn.vcenter is (conn if sim.mode == "vpx" else None)
    assert "closed" in repr(conn)


def test_wrong_password_is_refused(sim: Simulator) -> None:
    with pytest.raises(errors.AuthenticationError) as info:
        esxnb.connect(sim.uri, auth=(sim.username, "not-the-password"), ca_file=sim.ca_file)
    assert "not-the-password" not in str(info.value)
    assert sim.username in str(info.value)


def test_certificate_failure_names_both_remedies(sim: Simulator) -> None:
    with pytest.raises(errors.CertificateError) as info:
        esxnb.connect(sim.uri, auth=creds(sim))
    assert "no_verify=1" in str(info.value)
    assert "CA" in str(info.value)


def test_no_verify_connects_and_warns_once(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="esxnb"):
        with esxnb.connect(sim.uri_with(no_verify=1), auth=creds(sim)) as conn:
            conn.info()
            conn.host.name
    warnings = [r for r in caplog.records if "verification is disabled" in r.getMessage()]
    assert len(warnings) == 1


def test_callback_receives_host_name(sim: Simulator) -> None:
    challenges = []

    def auth(challenge: str) -> tuple[str, str]:
        challenges.append(challenge)
        return creds(sim)

    with esxnb.connect(sim.uri, auth=auth, ca_file=sim.ca_file):
        pass
    assert challenges == [sim.host]


def test_wrong_scheme_for_server(sim: Simulator) -> None:
    other = {"vpx": "esx", "esx": "vpx"}[sim.mode]
    uri = esxnb.parse_uri(sim.uri).replace(scheme=other, path="/", port=sim.port)
    with pytest.raises(errors.WrongServerTypeError, match=f"use {sim.mode}://"):
        esxnb.connect(uri, auth=creds(sim), ca_file=sim.ca_file)


def test_gsx_scheme_on_esx_host(esx_sim: Simulator) -> None:
    uri = esxnb.parse_uri(esx_sim.uri).replace(scheme="gsx", port=esx_sim.port)
    with pytest.raises(errors.WrongServerTypeError, match="to be a GSX host but found ESX"):
        esxnb.connect(uri, auth=creds(esx_sim), ca_file=esx_sim.ca_file)


def test_connection_refused() -> None:
    port = free_port_on("127.0.0.1")
    with pytest.raises(errors.ConnectionFailedError):
        esxnb.connect(f"esx://127.0.0.1:{port}/", auth=("root", "x"), timeout=5)


# -- vpx paths ----------------------------------------------------------------


@pytest.fixture(scope="module")
def folder_sim() -> Iterator[Simulator]:
    with Simulator("vpx", folders=1, clusters=1, hosts=2, standalone_hosts=1, vms=1) as sim:
        yield sim


def _base(sim: Simulator) -> str:
    return f"vpx://{sim.host}:{sim.port}"


def test_vpx_cluster_path(vpx_sim: Simulator) -> None:
    with esxnb.connect(
        f"{_base(vpx_sim)}/DC0/DC0_C0/DC0_C0_H1", auth=creds(vpx_sim), ca_file=vpx_sim.ca_file
    ) as conn:
        assert conn.host.name == "DC0_C0_H1"
        assert isinstance(conn.compute_resource, vim.ClusterComputeResource)
        assert conn.datacenter_path == "DC0"


def test_vpx_standalone_host_path(vpx_sim: Simulator) -> None:
    with esxnb.connect(f"{_base(vpx_sim)}/DC0/DC0_H0", auth=creds(vpx_sim), ca_file=vpx_sim.ca_file) as conn:
        assert conn.host.name == "DC0_H0"
        assert not isinstance(conn.compute_resource, vim.ClusterComputeResource)


def test_vpx_datacenter_only_and_empty_paths(vpx_sim: Simulator) -> None:
    for path, datacenter in (("/DC0", "DC0"), ("/", None)):
        with esxnb.connect(_base(vpx_sim) + path, auth=creds(vpx_sim), ca_file=vpx_sim.ca_file) as conn:
            assert conn.host is None
            assert conn.datacenter_path == datacenter
            with pytest.raises(errors.ValidationError, match="needs one host"):
                conn.require_host("define")


@pytest.mark.parametrize(
    "path,error,message",
    [
        ("/DCX/DC0_H0", errors.NotFoundError, "could not find datacenter or folder 'DCX'"),
        ("/DC0/nope", errors.NotFoundError, "DC0_C0 (cluster)"),
        ("/DC0/DC0_C0/DC0_H0", errors.NotFoundError, "hosts there: DC0_C0_H0, DC0_C0_H1"),
        ("/DC0/DC0_H0/extra", errors.URIError, "excess item 'extra'"),
    ],
)
def test_vpx_path_errors_list_what_exists(vpx_sim: Simulator, path: str, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        esxnb.connect(_base(vpx_sim) + path, auth=creds(vpx_sim), ca_file=vpx_sim.ca_file)
    assert message in str(info.value)


def test_vpx_path_through_folders(folder_sim: Simulator) -> None:
    content = esxnb.connect(_base(folder_sim) + "/", auth=creds(folder_sim), ca_file=folder_sim.ca_file)
    try:
        # find the real folder layout from the server, then walk it through a URI
        root_children = content.content.rootFolder.childEntity
        folder = next(c for c in root_children if isinstance(c, vim.Folder))
        datacenter = next(c for c in folder.childEntity if isinstance(c, vim.Datacenter))
        host_folder_children = datacenter.hostFolder.childEntity
        inner = next(c for c in host_folder_children if isinstance(c, vim.Folder))
        compute = next(c for c in inner.childEntity if isinstance(c, vim.ComputeResource))
        host_name = compute.host[0].name
        folder_name, datacenter_name = folder.name, datacenter.name
        items = [folder_name, datacenter_name, inner.name, compute.name]
        if isinstance(compute, vim.ClusterComputeResource):
            items.append(host_name)
    finally:
        content.close()  # its pyVmomi objects are dead from here on
    with esxnb.connect(
        _base(folder_sim) + "/" + "/".join(items), auth=creds(folder_sim), ca_file=folder_sim.ca_file
    ) as conn:
        assert conn.host.name == host_name
        assert conn.datacenter_path == f"{folder_name}/{datacenter_name}"


# -- transports, sessions, vCenter --------------------------------------------


def test_http_transport() -> None:
    with Simulator("esx", transport="http", vms=1) as sim:
        uri = sim.uri
        assert "transport=http" in uri
        with esxnb.connect(uri, auth=creds(sim)) as conn:
            assert conn.session.ssl_context is None
            assert conn.host.name


def test_session_expiry_relogs_in_when_credentials_can_be_asked_again() -> None:
    with Simulator("esx", vms=1, session_idle_timeout=1) as sim:
        calls = []

        def auth(challenge: str) -> tuple[str, str]:
            calls.append(challenge)
            return creds(sim)

        with esxnb.connect(sim.uri, auth=auth, ca_file=sim.ca_file) as conn:
            assert conn.host.name
            time.sleep(3.5)
            assert conn.host.name  # transparently logged in again
        assert len(calls) == 2

        answered = []

        def once(challenge: str) -> tuple[str, str] | None:
            answered.append(challenge)
            return creds(sim) if len(answered) == 1 else None

        conn = esxnb.connect(sim.uri, auth=once, ca_file=sim.ca_file)
        time.sleep(3.5)
        with pytest.raises(errors.SessionExpiredError, match="expired"):
            with esxnb._faults.translate():
                conn.host.name


def test_vcenter_star_and_named(vpx_sim: Simulator) -> None:
    # the ESX host and its vCenter on the same port of two loopback addresses, as libvirt expects
    with Simulator(
        "vpx", listen="127.0.0.3", port=free_port_on("127.0.0.2", "127.0.0.3"), hosts=2, vms=1
    ) as vc:
        with Simulator("esx", listen="127.0.0.2", managed_by=vc, host_name="DC0_C0_H1") as esx:
            seen = []

            def auth(challenge: str) -> tuple[str, str]:
                seen.append(challenge)
                return creds(vc) if challenge == "127.0.0.3" else creds(esx)

            for vcenter in ("*", "127.0.0.3"):
                seen.clear()
                uri = f"esx://127.0.0.2:{esx.port}/?vcenter={vcenter}&no_verify=1"
                with esxnb.connect(uri, auth=auth) as conn:
                    assert conn.vcenter is not None and conn.vcenter is not conn
                    assert conn.vcenter.is_vcenter
                    assert conn.vcenter.host.name == "DC0_C0_H1"
                assert seen == ["127.0.0.2", "127.0.0.3"]

    with pytest.raises(errors.ConnectionFailedError, match="not managed by a vCenter"):
        with Simulator("esx", vms=1) as lone:
            esxnb.connect(lone.uri_with(vcenter="*"), auth=creds(lone), ca_file=lone.ca_file)


def test_http_proxy_is_used(esx_sim: Simulator) -> None:
    proxy = ConnectProxy()
    try:
        with esxnb.connect(
            esx_sim.uri_with(proxy=f"http://127.0.0.1:{proxy.port}"),
            auth=creds(esx_sim),
            ca_file=esx_sim.ca_file,
        ) as conn:
            assert conn.host.name
        assert proxy.tunnels >= 1
    finally:
        proxy.close()


def test_socks_proxy_is_refused_clearly(esx_sim: Simulator) -> None:
    with pytest.raises(errors.ProxyError, match="not supported yet"):
        esxnb.connect(
            esx_sim.uri_with(proxy="socks://127.0.0.1:1080"), auth=creds(esx_sim), ca_file=esx_sim.ca_file
        )


def test_pyvmomi_call_slower_than_the_timeout_names_it() -> None:
    with Simulator("esx", vms=1) as sim:
        with connect_to(sim, timeout=0.5) as conn:
            sim.set_delay("*", 2)
            try:
                with pytest.raises(
                    errors.TimeoutError, match=r"did not answer within 0.5 s \(the request timeout"
                ):
                    conn.host.name
            finally:
                sim.clear_faults()
            assert conn.host.name  # the same connection works once the server answers again


def test_a_closed_connection_raises_instead_of_logging_in_again(vpx_sim: Simulator) -> None:
    from esxnb.errors import ConnectionClosedError

    conn = connect_to(vpx_sim)
    dom = conn.domain(conn.domains()["name"].iloc[0])
    vm = dom.vm
    conn.close()
    assert "closed" in repr(conn)
    for use in (
        conn.domains,
        conn.hosts,
        lambda: conn.domain(dom.name),
        conn.info,
        lambda: dom.state,
        lambda: vm.runtime.powerState,
    ):
        with pytest.raises(
            ConnectionClosedError, match=f"connection to {vpx_sim.host} was closed; connect again"
        ):
            use()
    conn.close()  # closing twice is fine
    with pytest.raises(ConnectionClosedError) as caught:
        conn.domains()
    assert vpx_sim.password not in str(caught.value)


def test_wrong_server_type_is_reported_before_any_password_is_sent(vpx_sim: Simulator) -> None:
    asked: list[str] = []

    def auth(challenge: str) -> tuple[str, str]:
        asked.append(challenge)
        return ("root", "not the vCenter's password")

    with pytest.raises(errors.WrongServerTypeError, match="to be an ESX host but found .*use vpx://"):
        esxnb.connect(f"esx://{vpx_sim.host}:{vpx_sim.port}/", auth=auth, ca_file=vpx_sim.ca_file)
    assert asked == [], "the credentials were asked for (and sent) before the server type was checked"
