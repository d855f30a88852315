"""``esxnb.inventory([...])``: the domains of several servers at once, one failing."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pandas as pd
import pytest

from esxnb import errors
from esxnb.connection import Connection, connect
from esxnb.frames import domains_columns
from esxnb.many import inventory
from esxnb.many import server_label
from esxnb.simulator import Simulator
from helpers import connect_to

pytestmark = pytest.mark.simulator

USER = "ops"
PASSWORD = "many-servers-pw"


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Simulator, Simulator]]:
    """A vCenter and an ESX host sharing one set of credentials."""
    with (
        Simulator("vpx", username=USER, password=PASSWORD) as vpx,
        Simulator("esx", username=USER, password=PASSWORD) as esx,
    ):
        yield vpx, esx


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _single(uri: str, sim: Simulator) -> pd.DataFrame:
    with connect_to(sim, uri) as conn:
        return conn.domains()


def test_servers_concatenated_with_a_failing_one(
    pair: tuple[Simulator, Simulator], vpx_sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    vpx, esx = pair
    own = connect_to(vpx_sim)
    dead = f"esx://127.0.0.1:{_closed_port()}/?no_verify=1"
    uris = [vpx.uri_with(no_verify=1), esx.uri_with(no_verify=1), own, dead]
    try:
        with caplog.at_level(logging.WARNING, logger="esxnb"):
            frame = inventory(uris, auth=(USER, PASSWORD), timeout=10)
        expected = {
            server_label(vpx.uri_with(no_verify=1)): _single(vpx.uri_with(no_verify=1), vpx),
            server_label(esx.uri_with(no_verify=1)): _single(esx.uri_with(no_verify=1), esx),
            str(own.uri): own.domains(),
        }
        # The Connection passed in is still open and usable.
        assert len(own.domains()) == len(expected[str(own.uri)])
    finally:
        own.close()

    assert list(frame.columns) == ["server", *domains_columns().columns]
    assert isinstance(frame["server"].dtype, pd.CategoricalDtype)
    assert set(frame["server"]) == set(expected)
    for server, single in expected.items():
        part = frame[frame["server"] == server].drop(columns="server").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, single.reset_index(drop=True), check_categorical=False)
    assert isinstance(frame["state"].dtype, pd.CategoricalDtype)

    failures = frame.attrs["errors"]
    assert list(failures) == [server_label(dead)]
    assert "cannot connect" in failures[server_label(dead)]
    assert any(server_label(dead) in record.getMessage() for record in caplog.records)
    assert frame.attrs["round_trips"] >= len(expected)


def test_every_server_failing_gives_an_empty_table() -> None:
    dead = [f"esx://127.0.0.1:{_closed_port()}/", f"vpx://127.0.0.1:{_closed_port()}/dc1"]
    frame = inventory(dead, auth=("root", "x"), timeout=5)
    assert frame.empty
    assert list(frame.columns) == ["server", *domains_columns().columns]
    assert sorted(frame.attrs["errors"]) == sorted(server_label(uri) for uri in dead)


def test_wrong_password_is_one_servers_error(pair: tuple[Simulator, Simulator]) -> None:
    vpx, esx = pair
    frame = inventory([vpx.uri_with(no_verify=1), esx.uri_with(no_verify=1)], auth=(USER, "wrong-secret"))
    assert frame.empty and len(frame.attrs["errors"]) == 2
    for message in frame.attrs["errors"].values():
        assert "refused the credentials" in message
        assert "wrong-secret" not in message


def test_ca_file_and_verification(pair: tuple[Simulator, Simulator]) -> None:
    vpx, _esx = pair
    # Without the CA nor no_verify, verification fails and says how to fix it.
    frame = inventory([vpx.uri], auth=(USER, PASSWORD))
    assert "no_verify=1" in frame.attrs["errors"][server_label(vpx.uri)]
    frame = inventory([vpx.uri], auth=(USER, PASSWORD), ca_file=vpx.ca_file)
    assert not frame.attrs["errors"] and len(frame) > 0


def test_esxnb_inventory_is_the_public_function(pair: tuple[Simulator, Simulator]) -> None:
    vpx, esx = pair
    import esxnb.frames  # noqa: F401 - importing the submodules must not shadow the function
    import esxnb.many  # noqa: F401

    assert esxnb.inventory is inventory
    frame = esxnb.inventory(
        [vpx.uri_with(no_verify=1), esx.uri_with(no_verify=1)], auth=(USER, PASSWORD), max_workers=1
    )
    assert frame["server"].nunique() == 2


def test_bad_arguments() -> None:
    with pytest.raises(errors.ValidationError, match="list of URIs"):
        inventory("esx://host/")
    with pytest.raises(errors.ValidationError, match="more than once"):
        inventory(["esx://a/", "esx://a"])
    with pytest.raises(errors.ValidationError, match="max_workers"):
        inventory(["esx://a/"], max_workers=0)


def test_malformed_uri_is_reported_without_its_password() -> None:
    frame = inventory(
        ["esx://root:hunter2@127.0.0.1/", "bogus://x/", "esx:/h?proxy=u:hunter2@p"], auth=("root", "x")
    )
    assert "esx://root:***@127.0.0.1/" in frame.attrs["errors"]
    assert "bogus://x/" in frame.attrs["errors"]
    assert "esx:/h?proxy=u:***@p" in frame.attrs["errors"]
    assert "hunter2" not in repr(frame.attrs)


def test_connections_only(pair: tuple[Simulator, Simulator]) -> None:
    vpx, esx = pair
    conns: list[Connection] = [connect(s.uri_with(no_verify=1), auth=(USER, PASSWORD)) for s in (vpx, esx)]
    try:
        frame = inventory(conns)
        assert len(frame) == sum(len(c.domains()) for c in conns)
    finally:
        for conn in conns:
            conn.close()
