"""Fuzzing ``parse_uri``: any input gives a URI or an esxnb error; valid URIs round-trip.

The default run tries a few thousand inputs; ``-m slow`` runs ten times more. A parse that
hangs (catastrophic backtracking, quadratic work on huge input) is stopped by the tests'
``timeout`` marks; parsing speed itself is measured in benchmarks/, never asserted here.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from esxnb.errors import EsxnbError, URIError
from esxnb.uri import URI, default_port, parse_uri

FAST = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=15000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Hang guards (generous: a few seconds of work each on a busy 2-core machine).
pytestmark = pytest.mark.timeout(120)
SLOW_TIMEOUT = pytest.mark.timeout(600)


def parse_or_refuse(text: object) -> URI | None:
    """parse_uri(text), None when refused with an esxnb error; fails on anything else."""
    try:
        result = parse_uri(text)  # type: ignore[arg-type]
    except EsxnbError as exc:
        assert isinstance(exc, URIError), f"{type(exc).__name__} is not a URIError"
        assert str(exc), "an error without a message"
        result = None
    if result is not None:
        # what is accepted is usable: printable and parseable again
        again = parse_uri(str(result))
        assert again == result, f"{text!r} -> {result} -> {again}"
    return result


# -- building blocks, valid and not ------------------------------------------------------------

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
dns_name = st.lists(label, min_size=1, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.sampled_from(["::1", "fe80::1", "2001:db8::42", "::ffff:127.0.0.1", "1:2:3:4:5:6:7:8"])
hostname = st.one_of(dns_name, ipv4, ipv6)

junk = st.text(max_size=40)
junk_ascii = st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=40)
schemes = st.sampled_from(
    [
        "esx",
        "gsx",
        "vpx",
        "ESX",
        "Vpx",
        "esx+ssh",
        "vpx+tcp",
        "gsx+tls",
        "esx+unix",
        "qemu",
        "http",
        "",
        "e sx",
    ]
)
ports = st.one_of(
    st.integers(-5, 70000).map(str), st.sampled_from(["", "0", "65535", "65536", "99999999999999999999", "+1", "0x50",
                                                      "１２", "٣", " 1"]), junk_ascii,
)  # fmt: skip
param_names = st.sampled_from(
    ["transport", "vcenter", "no_verify", "auto_answer", "proxy", "Transport", "NO_VERIFY", "unknown", ""]
)
param_values = st.one_of(
    st.sampled_from(["http", "https", "ftp", "0", "1", "2", " 1", "*", "", "socks://h:1", "socks5://[::1]:99",
                     "http://[::1", "h:0", "h:65536", "h:x", "unknown://h", "[::1]x", "a/b"]),
    junk,
)  # fmt: skip


@st.composite
def near_valid_uris(draw: st.DrawFn) -> str:
    """URI-shaped text with every part sometimes broken."""
    text = draw(schemes) + draw(st.sampled_from(["://", "://", ":/", ":", "//"]))
    if draw(st.booleans()):
        user = draw(st.one_of(junk, label))
        if draw(st.booleans()):
            user += ":" + draw(junk)  # a password: must be refused, and never echoed
        text += user + "@"
    host = draw(st.one_of(hostname, junk))
    text += f"[{host}]" if ":" in host and draw(st.booleans()) else host
    if draw(st.booleans()):
        text += ":" + draw(ports)
    for _ in range(draw(st.integers(0, 4))):
        text += "/" + draw(st.one_of(label, junk_ascii, junk))
    if draw(st.booleans()):
        pairs = draw(st.lists(st.tuples(param_names, param_values), max_size=5))
        text += "?" + "&".join(f"{k}={v}" if draw(st.booleans()) else k for k, v in pairs)
    if draw(st.integers(0, 9)) == 0:
        text += "#" + draw(junk)
    return text


def check_refusal_hides_password(text: str) -> None:
    """A URI with user:password@ (its own, or its proxy's) is refused without repeating the password."""
    secrets = []
    if "://" in text:
        netloc = re.split(r"[/?#]", text.split("://", 1)[1], maxsplit=1)[0]
        userinfo = netloc.rpartition("@")[0]
        if ":" in userinfo:
            secrets.append(userinfo.split(":", 1)[1])
    if "proxy=" in text:
        proxy = re.split(r"[&#]", text.split("proxy=", 1)[1], maxsplit=1)[0].split("://", 1)[-1]
        userinfo = proxy.rpartition("@")[0]
        if ":" in userinfo:
            secrets.append(userinfo.split(":", 1)[1])
    try:
        parse_uri(text)
    except URIError as exc:
        for secret in secrets:
            elsewhere = text.replace(f":{secret}@", "", 1)
            if len(secret) >= 4 and secret not in elsewhere:
                assert secret not in str(exc), f"{exc} repeats the password {secret!r}"


@FAST
@given(st.one_of(junk, st.binary(max_size=40).map(lambda b: b.decode("latin-1"))))
@example("")
@example("://")
@example("esx://")
@example("esx://[::1")
@example("esx://host:99999999999999999999999/")
@example("esx://h/?" + "&" * 1000)
@example("vpx://h/" + "%" * 500)
def test_arbitrary_text(text: str) -> None:
    parse_or_refuse(text)


@FAST
@given(near_valid_uris())
@example("esx://root:s3cr3t-pass@host/")
@example("esx://host/?proxy=http://user:s3cr3t-pass@proxy:3128")
@example("esx://host/?proxy=socks5://user:s3cr3t-pass@[::1]:1080")
@example("esx://host/?proxy=http://a%26b:80")
@example("vpx://host/?vcenter=a%26b")
@example("esx://host/?transport=http&transport=https")
@example("esx:/0?proxy=:0000@#")  # found by the slow run: a text without :// is echoed whole
def test_near_valid_uris(text: str) -> None:
    parse_or_refuse(text)
    check_refusal_hides_password(text)


@pytest.mark.parametrize(
    "text", ["esx://ho\x00st/", "vpx://host/DC0\x0b/h", "esx://host/\x1b[31m", "esx://host/?vcenter=a\x7fb"]
)
def test_control_characters_are_refused(text: str) -> None:
    """Terminal escapes and NULs have no place in a host or inventory name; escaped, they are fine."""
    with pytest.raises(URIError, match=r"control character U\+00"):
        parse_uri(text)
    assert parse_uri("vpx://host/DC%0B0/h").path_items == ("DC\x0b0", "h")


def test_spaces_must_be_escaped_as_libvirt_requires() -> None:
    """libvirt's URI parser refuses raw spaces; accepting them would print URIs that read back
    differently (a trailing space is stripped)."""
    with pytest.raises(URIError, match=r"a space at position 12: .*%20"):
        parse_uri("vpx://vc/My DC/h")
    with pytest.raises(URIError, match=r"U\+3000"):
        parse_uri("vpx://vc/DC\u3000/h")
    assert parse_uri("vpx://vc/My%20DC/h").path_items == ("My DC", "h")
    assert parse_uri("  vpx://vc/DC0/h \n").path_items == ("DC0", "h")  # surrounding blanks are fine


def test_proxy_hostname_must_be_a_hostname() -> None:
    for value in ("a%26b", "a%23b", "a%3Fb", "a%20b"):
        with pytest.raises(URIError, match="proxy"):
            parse_uri(f"esx://host/?proxy=http://{value}:80")


@pytest.mark.parametrize("value", [None, 42, b"esx://host/", ["esx://host/"], object()])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(URIError, match="must be a string"):
        parse_uri(value)  # type: ignore[arg-type]


@pytest.mark.timeout(60)  # linear work on 1 MB ends in well under a second; a quadratic one hangs
@pytest.mark.parametrize("size", [10_000, 1_000_000])
def test_huge_input_is_handled_in_linear_time(size: int) -> None:
    path = "/" + "a/" * (size // 2)
    assert parse_uri("esx://host" + path).path == path.rstrip("/")  # the trailing "/" is dropped
    assert parse_uri("esx://" + "a" * size + "/").hostname == "a" * size
    refused = {
        "esx://host/?" + "no_verify=1&" * (size // 12): "expected name=value pairs joined by &",
        "esx://host/?proxy=" + "[" * size: "query parameter 'proxy' has an unclosed IPv6 address",
        "x" * size: "is not a URI: expected type://",
    }
    for text, reason in refused.items():
        with pytest.raises(URIError) as caught:
            parse_uri(text)
        assert reason in str(caught.value)


# -- valid URIs round-trip ---------------------------------------------------------------------

path_item = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
username = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
proxy_value = st.tuples(
    st.sampled_from(["", "http://", "socks://", "socks4://", "socks4a://", "socks5://"]),
    hostname,
    st.one_of(st.none(), st.integers(1, 65535)),
).map(lambda t: f"{t[0]}{f'[{t[1]}]' if ':' in t[1] else t[1]}{'' if t[2] is None else f':{t[2]}'}")


@st.composite
def valid_uris(draw: st.DrawFn) -> tuple[str, dict]:
    """A valid URI text and what it must parse to."""
    scheme = draw(st.sampled_from(["esx", "gsx", "vpx"]))
    host = draw(hostname)
    user = draw(st.one_of(st.none(), username))
    port = draw(st.one_of(st.none(), st.integers(1, 65535)))
    items = draw(st.lists(path_item, max_size=4)) if scheme == "vpx" else []
    params: dict[str, str] = {}
    if draw(st.booleans()):
        params["transport"] = draw(st.sampled_from(["http", "https"]))
    if draw(st.booleans()):
        params["vcenter"] = draw(st.one_of(st.just("*"), hostname))
    for flag in ("no_verify", "auto_answer"):
        if draw(st.booleans()):
            params[flag] = draw(st.sampled_from(["0", "1"]))
    if draw(st.booleans()):
        params["proxy"] = draw(proxy_value)
    text = f"{scheme}://"
    if user is not None:
        text += quote(user, safe="") + "@"
    text += f"[{host}]" if ":" in host else host
    if port is not None:
        text += f":{port}"
    text += "/" + "/".join(quote(item, safe="") for item in items)
    if params:
        text += "?" + "&".join(f"{k}={quote(v, safe=':/[]*')}" for k, v in params.items())
    transport = params.get("transport", "https")
    expected = {
        "scheme": scheme,
        "hostname": host.lower(),
        "port": port if port is not None else default_port(scheme, transport),
        "username": user,
        "path_items": tuple(items),
        "transport": transport,
        "vcenter": params.get("vcenter"),
        "no_verify": params.get("no_verify") == "1",
        "auto_answer": params.get("auto_answer") == "1",
    }
    return text, expected


def check_round_trip(case: tuple[str, dict]) -> None:
    text, expected = case
    uri = parse_uri(text)
    for field, value in expected.items():
        assert getattr(uri, field) == value, f"{field} of {text!r}: {getattr(uri, field)!r} != {value!r}"
    printed = str(uri)
    again = parse_uri(printed)
    assert again == uri, f"{text!r} -> {printed!r} -> {again!r}"
    assert again.path_items == uri.path_items and again.proxy == uri.proxy
    assert str(again) == printed  # printing is stable


@FAST
@given(valid_uris())
def test_valid_uris_round_trip(case: tuple[str, dict]) -> None:
    check_round_trip(case)


# -- the nightly-style larger run --------------------------------------------------------------


@pytest.mark.slow
@SLOW_TIMEOUT
@SLOW
@given(st.one_of(near_valid_uris(), junk))
def test_many_more_inputs(text: str) -> None:
    parse_or_refuse(text)
    check_refusal_hides_password(text)


@pytest.mark.slow
@SLOW_TIMEOUT
@SLOW
@given(valid_uris())
def test_many_more_round_trips(case: tuple[str, dict]) -> None:
    check_round_trip(case)
