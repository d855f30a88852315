"""The datastore file interface (/folder with the session cookie) against the simulator, both modes."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator

import pytest

from esxnb import errors
from esxnb.connection import Connection, connect
from esxnb.datastore_files import (
    delete,
    download,
    escape_datastore_item,
    exists,
    folder_url,
    parse_datastore_path,
    upload,
)
from esxnb.simulator import Simulator
from helpers import connect_to

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=1, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


# libvirt's own test vectors for esxUtil_EscapeDatastoreItem (tests/esxutilstest.c)
ESCAPES = [
    ("normal", "normal"),
    ("Aä1ö2ü3ß4#5~6!7§8/9%Z", "A+w6Q-1+w7Y-2+w7w-3+w58-4+Iw-5+fg-6+IQ-7+wqc-8+JQ-2f9+JQ-25Z"),
    ("Z~6!7§8/9%0#1\"2'3`4&A", "Z+fg-6+IQ-7+wqc-8+JQ-2f9+JQ-250+Iw-1_2'3+YA-4+Jg-A"),
    ("標準語", "+5qiZ5rqW6Kqe"),
    ("!\"#$%&'()*+,-./0123456789:;<=>?", "+IQ-_+IyQl-25+Jg-'()_+Kw-,-.+JQ-2f0123456789_+Ow-_+PQ-__"),
    ("A Z[\\]^_B", "A Z+WyU-5c+XV4-_B"),
    ("A`B@{|}~DEL", "A+YA-B+QHs-_+fX4-DEL"),
    ("hÀÁÂÃÄÅH", "h+w4DDgcOCw4PDhMOF-H"),
    ("A쿀Z", "A+7L+A-Z"),
    ("!쿀A", "+Iey,gA-A"),
    ("~~~", "+fn5+"),
    ("~~~A", "+fn5+-A"),
    ("K%U/H\\Z", "K+JQ-25U+JQ-2fH+JQ-5cZ"),
    ('vvv<A"B"C>zzz', "vvv_A_B_C_zzz"),
]


@pytest.mark.parametrize(("name", "escaped"), ESCAPES)
def test_escape_datastore_item_matches_libvirt(name: str, escaped: str) -> None:
    assert escape_datastore_item(name) == escaped


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("[datastore] directory/file", ("datastore", "directory", "directory/file")),
        (
            "[datastore] directory1/directory2/file",
            ("datastore", "directory1/directory2", "directory1/directory2/file"),
        ),
        ("[datastore] file", ("datastore", "", "file")),
        ("[datastore] directory/", ("datastore", "directory", "directory/")),
        ("[datastore]", ("datastore", "", "")),
        ("[data store 1]   a b/c", ("data store 1", "a b", "a b/c")),
    ],
)
def test_parse_datastore_path(path: str, expected: tuple[str, str, str]) -> None:
    assert parse_datastore_path(path) == expected


@pytest.mark.parametrize("path", ["[] directory/file", "directory/file", "[unclosed directory/file"])
def test_parse_datastore_path_refuses_malformed(path: str) -> None:
    with pytest.raises(errors.ValidationError, match="expected format|closing"):
        parse_datastore_path(path)


def test_folder_url_encodes_path_and_query(conn: Connection) -> None:
    url = folder_url(conn, "[LocalDS_0] dir with space/ä #?&+%.vmx", datacenter_path="folder/dc a")
    server, _, rest = url.partition("/folder/")
    assert server == f"https://127.0.0.1:{conn.session.port}"
    path, _, query = rest.partition("?")
    assert path == "dir%20with%20space/%C3%A4%20%23%3F%26%2B%25.vmx"
    assert query == "dcPath=folder%2Fdc%20a&dsName=LocalDS_0"


@pytest.mark.parametrize(
    "relative",
    ["esxnb-files/plain.txt", "esxnb files/späce ä 標準 #1 ?&+%.txt", "esxnb-files/quote \"q\" 's'.txt"],
)
def test_upload_download_exists_delete_round_trip(conn: Connection, relative: str) -> None:
    path = f"[LocalDS_0] {relative}"
    data = "content of " + relative + "\n"
    assert not exists(conn, path)
    upload(conn, path, data)
    assert exists(conn, path)
    assert exists(conn, path.rsplit("/", 1)[0])  # its directory
    assert download(conn, path) == data.encode("utf-8")
    with pytest.raises(errors.ExistsError, match="exists already"):
        upload(conn, path, b"other")
    assert download(conn, path) == data.encode("utf-8")
    upload(conn, path, b"\x00\xffbinary", overwrite=True)
    assert download(conn, path) == b"\x00\xffbinary"
    delete(conn, path)
    assert not exists(conn, path)


def test_download_missing_file_names_it(conn: Connection) -> None:
    with pytest.raises(errors.NotFoundError, match=r"no-such-dir/missing\.vmx"):
        download(conn, "[LocalDS_0] no-such-dir/missing.vmx")


def test_unknown_datastore_is_not_found(conn: Connection) -> None:
    with pytest.raises(errors.NotFoundError, match="NoSuchDS"):
        download(conn, "[NoSuchDS] a.vmx")
    assert not exists(conn, "[NoSuchDS] a.vmx")


def test_delete_missing_file_is_not_found(conn: Connection) -> None:
    with pytest.raises(errors.NotFoundError):
        delete(conn, "[LocalDS_0] esxnb-files/never-there.txt")


def test_folder_needs_the_session_cookie(sim: Simulator, conn: Connection) -> None:
    """What the cookie is for: the same request without it is refused."""
    upload(conn, "[LocalDS_0] esxnb-files/cookie.txt", b"secret")
    url = folder_url(conn, "[LocalDS_0] esxnb-files/cookie.txt")
    client = http.client.HTTPSConnection(sim.host, sim.port, context=sim.ssl_context(), timeout=10)
    try:
        client.request("GET", url.split(f":{sim.port}", 1)[1])
        response = client.getresponse()
        response.read()
    finally:
        client.close()
    assert response.status == 401
    assert download(conn, "[LocalDS_0] esxnb-files/cookie.txt") == b"secret"


def test_datacenter_is_required_without_one(sim: Simulator) -> None:
    if sim.mode != "vpx":
        pytest.skip("only a vpx:// URI can name no datacenter")
    root = connect_to(sim, sim.uri.split("/DC0", 1)[0] + "/")
    try:
        with pytest.raises(errors.ValidationError, match="datacenter"):
            download(root, "[LocalDS_0] x.vmx")
        upload(root, "[LocalDS_0] esxnb-files/dc.txt", b"x", datacenter_path="DC0")
        assert download(root, "[LocalDS_0] esxnb-files/dc.txt", datacenter_path="DC0") == b"x"
    finally:
        root.close()


def test_expired_session_logs_in_again_for_files() -> None:
    with Simulator("esx", vms=0, session_idle_timeout=1) as simulator:
        connection = connect(
            simulator.uri, auth=(simulator.username, simulator.password), ca_file=simulator.ca_file
        )
        try:
            upload(connection, "[LocalDS_0] a.txt", b"before")
            time.sleep(2.5)  # the session expires after 1-2x the idle timeout
            assert download(connection, "[LocalDS_0] a.txt") == b"before"
        finally:
            connection.close()
