"""Every URI example and rule of the spec, table-driven."""

from __future__ import annotations

import pytest

from esxnb import Proxy, parse_uri
from esxnb.errors import UnsupportedTransportError, URIError

# (uri, expected fields) - the spec's own examples first.
VALID = [
    (
        "vpx://example-vcenter.com/dc1/srv1",
        dict(scheme="vpx", hostname="example-vcenter.com", port=443, path_items=("dc1", "srv1")),
    ),
    (
        "esx://example-esx.com",
        dict(scheme="esx", hostname="example-esx.com", port=443, transport="https", path_items=()),
    ),
    ("gsx://example-gsx.com", dict(scheme="gsx", port=8333, transport="https")),
    ("esx://example-esx.com/?transport=http", dict(port=80, transport="http")),
    ("gsx://example-gsx.com/?transport=http", dict(port=8222, transport="http")),
    ("vpx://example-vcenter.com/?transport=http", dict(port=80)),
    ("esx://example-esx.com/?no_verify=1", dict(no_verify=True, auto_answer=False)),
    (
        "vpx://example-vcenter.com/dc1/cluster1/example-esx.com",
        dict(path_items=("dc1", "cluster1", "example-esx.com")),
    ),
    (
        "vpx://example-vcenter.com/folder1/dc1/folder2/example-esx.com",
        dict(path_items=("folder1", "dc1", "folder2", "example-esx.com")),
    ),
    (
        "esx://example.com/?no_verify=1&auto_answer=1&proxy=socks://example-proxy.com:23456",
        dict(no_verify=True, auto_answer=True, proxy=Proxy("socks5", "example-proxy.com", 23456)),
    ),
    ("esx://example.com/?vcenter=example-vcenter.com", dict(vcenter="example-vcenter.com")),
    ("esx://example-src.com/?vcenter=*", dict(vcenter="*")),
    # explicit ports win, also over transport defaults
    ("esx://example.com:8443/", dict(port=8443, port_given=True)),
    ("gsx://example.com:1234/?transport=http", dict(port=1234, transport="http")),
    # user names, case-insensitive parameter names and schemes
    ("esx://root@example.com/", dict(username="root")),
    ("vpx://administrator%40vsphere.local@vc/dc1/h1", dict(username="administrator@vsphere.local")),
    (
        "ESX://example.com/?No_Verify=1&TRANSPORT=http",
        dict(scheme="esx", no_verify=True, transport="http", port=80),
    ),
    ("esx://example.com/?auto_answer=0", dict(auto_answer=False)),
    # proxy forms: default type http, default port 1080
    ("esx://h/?proxy=proxy.example.com", dict(proxy=Proxy("http", "proxy.example.com", 1080))),
    ("esx://h/?proxy=http://proxy:3128", dict(proxy=Proxy("http", "proxy", 3128))),
    ("esx://h/?proxy=socks4://p", dict(proxy=Proxy("socks4", "p", 1080))),
    ("esx://h/?proxy=socks4a://p:1", dict(proxy=Proxy("socks4a", "p", 1))),
    ("esx://h/?proxy=socks5://p:65535", dict(proxy=Proxy("socks5", "p", 65535))),
    # IPv6 and escaped path items
    ("esx://[::1]:8443/", dict(hostname="::1", port=8443)),
    ("vpx://vc/My%20Folder/dc%2F1/h", dict(path_items=("My Folder", "dc/1", "h"))),
]


@pytest.mark.parametrize("text,fields", VALID, ids=[t for t, _ in VALID])
def test_valid_uris(text: str, fields: dict) -> None:
    uri = parse_uri(text)
    for name, value in fields.items():
        assert getattr(uri, name) == value, name


@pytest.mark.parametrize("text", [t for t, _ in VALID])
def test_round_trip(text: str) -> None:
    uri = parse_uri(text)
    assert parse_uri(str(uri)) == uri


INVALID = [
    ("esx+ssh://example.com/", UnsupportedTransportError, "client-side-only"),
    ("esx+tcp://example.com/", UnsupportedTransportError, "esx+tcp"),
    ("esx+tls://example.com/", UnsupportedTransportError, "esx://example.com/"),
    ("vpx+ssh://vc/dc/h", UnsupportedTransportError, "client-side-only"),
    ("qemu://example.com/", URIError, "expected one of esx://, gsx://, vpx://"),
    ("example.com", URIError, "not a URI"),
    ("esx:///", URIError, "no hostname"),
    ("esx://h:0/", URIError, "1..65535"),
    ("esx://h:99999/", URIError, "1..65535"),
    ("esx://h:abc/", URIError, "port"),
    ("esx://h/?transport=ftp", URIError, "'transport' has unexpected value 'ftp' (should be http|https)"),
    ("esx://h/?no_verify=2", URIError, "'no_verify' has unexpected value '2' (should be 0 or 1)"),
    ("esx://h/?no_verify=yes", URIError, "should be 0 or 1"),
    ("esx://h/?auto_answer=", URIError, "'auto_answer'"),
    ("esx://h/?vcenter=", URIError, "'vcenter' is empty"),
    ("esx://h/?proxy=ftp://p", URIError, "unexpected type 'ftp'"),
    ("esx://h/?proxy=:8080", URIError, "doesn't contain a hostname"),
    ("esx://h/?proxy=p:0", URIError, "unexpected port value '0' (should be [1..65535])"),
    ("esx://h/?proxy=p:x", URIError, "unexpected port value 'x'"),
    ("esx://h/?verify=1", URIError, "unknown query parameter 'verify'"),
    ("esx://root:secret@h/", URIError, "password in the URI"),
]


@pytest.mark.parametrize("text,error,message", INVALID, ids=[t for t, _, _ in INVALID])
def test_invalid_uris(text: str, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        parse_uri(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "esx://root:s3cr3t-pw@h/",
        "esx:/h?proxy=u:s3cr3t-pw@p",  # not a URI at all: the whole text is echoed
        "esx+ssh://h/?proxy=http://u:s3cr3t-pw@p",  # the suggested esx:// form is echoed
        "esx+ssh://root:s3cr3t-pw@h/",
        "esx+ssh://root:s3cr3t&pw@h/",  # & is allowed in a password
        "esx:/root:s3cr3t&pw@h/",
        "esx:/h?proxy=u:s3cr3t&pw@p",
        "esx://h/?proxy=http://u:s3cr3t-pw@p&&=",  # the malformed query string is echoed
        "esx:/h?proxy=u:s3cr3t-pw@p://x",  # the unknown scheme is echoed
        "esx://h/?proxy=http://u:s3cr3t-pw@p&transport=ftp",
        "esx://h/?transport=u:s3cr3t-pw@x",  # a bad value is echoed
        "esx://h/?u:s3cr3t-pw@x=1",  # an unknown parameter name is echoed
    ],
)
def test_password_in_uri_is_not_echoed(text: str) -> None:
    with pytest.raises(URIError) as info:
        parse_uri(text)
    assert "s3cr3t-pw" not in str(info.value)
    assert "s3cr3t" not in repr(info.value)


def test_default_usernames_and_server_url() -> None:
    assert parse_uri("esx://h").default_username == "root"
    assert parse_uri("gsx://h").default_username == "root"
    assert parse_uri("vpx://h/dc/s").default_username == "administrator"
    assert parse_uri("gsx://h/?transport=http").server_url == "http://h:8222/sdk"
    assert parse_uri("esx://[::1]/").server_url == "https://[::1]:443/sdk"


def test_replace_follows_transport_default_port() -> None:
    uri = parse_uri("esx://h/")
    assert uri.replace(transport="http").port == 80
    assert parse_uri("esx://h:444/").replace(transport="http").port == 444


def test_error_messages_stay_short_for_huge_input() -> None:
    with pytest.raises(URIError) as info:
        parse_uri("esx://h/?transport=" + "x" * 100_000)
    assert len(str(info.value)) < 300
    assert "99920 more characters" in str(info.value)
