"""Hostile domain XML given to ``esxnb.domxml_to_native`` (and ``define``, which parses the same way).

Each attack must end in :class:`esxnb.errors.XMLSyntaxError` (or a harmless conversion), without
hanging (``timeout`` marks guard that; speed is measured in benchmarks/, never asserted here),
and provably touch nothing outside: a loopback listener records every connection attempt (no
DTD, entity, XInclude, schema or stylesheet fetch), a canary file's content never shows up,
and a named pipe proves no file is even opened (opening a FIFO for reading blocks until a
writer comes, so a parser that tried would hang; the test then unblocks it and fails).
"""

from __future__ import annotations

import codecs
import gzip
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import esxnb
from esxnb.errors import EsxnbError, XMLSyntaxError
from esxnb.vmx._safexml import MAX_XML_SIZE

CANARY = "esxnb-canary-7f3a9c1e5b"
# A conversion still running after this long is taken to be blocked on the named pipe (a bound
# for that check, not a speed requirement: the conversions here end in milliseconds).
BLOCKED_AFTER = 5.0

pytestmark = pytest.mark.timeout(120)


@dataclass
class Listener:
    """A loopback TCP listener that records every connection (and what was sent first)."""

    sock: socket.socket
    port: int
    hits: list[bytes] = field(default_factory=list)

    def serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            client.settimeout(1)
            try:
                self.hits.append(client.recv(4096))
            except OSError:
                self.hits.append(b"")
            finally:
                client.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    spy = Listener(sock, sock.getsockname()[1])
    thread = threading.Thread(target=spy.serve, daemon=True)
    thread.start()
    yield spy
    sock.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("xml-attack")
    canary = base / "canary.txt"
    canary.write_text(CANARY)
    dtd = base / "evil.dtd"
    dtd.write_text(f"<!ENTITY leak '{CANARY}'>")
    fifo = base / "pipe"
    os.mkfifo(fifo)
    return {"canary": canary, "dtd": dtd, "fifo": fifo}


def domain(name: str = "t", devices: str = "", head: str = "", attrs: str = "") -> str:
    return (
        f"{head}<domain type='vmware'{attrs}><name>{name}</name>"
        "<uuid>564d9bef-acd9-b4e0-c8f0-aea8b9103515</uuid><memory unit='MiB'>64</memory>"
        f"<os><type>hvm</type></os><devices>{devices}</devices></domain>"
    )


def attacks(port: int, files: dict[str, Path]) -> dict[str, str]:
    http = f"http://127.0.0.1:{port}"
    canary, dtd, fifo = (files[k].as_uri() for k in ("canary", "dtd", "fifo"))
    laughs = "<!ENTITY lol 'lol'>" + "".join(
        f"<!ENTITY lol{i} '{('&lol' + (str(i - 1) if i > 1 else '') + ';') * 10}'>" for i in range(1, 10)
    )
    return {
        "billion-laughs": domain("&lol9;", head=f"<?xml version='1.0'?><!DOCTYPE domain [{laughs}]>"),
        "quadratic-blowup": domain("&a;" * 2000, head=f"<!DOCTYPE domain [<!ENTITY a '{'x' * 50_000}'>]>"),
        "external-entity-file": domain("&x;", head=f"<!DOCTYPE domain [<!ENTITY x SYSTEM '{canary}'>]>"),
        "external-entity-fifo": domain("&x;", head=f"<!DOCTYPE domain [<!ENTITY x SYSTEM '{fifo}'>]>"),
        "external-entity-http": domain("&x;", head=f"<!DOCTYPE domain [<!ENTITY x SYSTEM '{http}/entity'>]>"),
        "parameter-entity-http": domain(
            head=f"<!DOCTYPE domain [<!ENTITY % p SYSTEM '{http}/param.dtd'> %p;]>"
        ),
        "parameter-entity-file": domain(
            "&leak;", head=f"<!DOCTYPE domain [<!ENTITY % p SYSTEM '{dtd}'> %p;]>"
        ),
        "dtd-fetch-system": domain(head=f"<!DOCTYPE domain SYSTEM '{http}/domain.dtd'>"),
        "dtd-fetch-public": domain(head=f"<!DOCTYPE domain PUBLIC '-//esxnb//x' '{http}/public.dtd'>"),
        "dtd-fetch-fifo": domain(head=f"<!DOCTYPE domain SYSTEM '{fifo}'>"),
        "doctype-after-comment": domain(head=f"<!-- hi --><!DOCTYPE domain SYSTEM '{http}/late.dtd'>"),
        "doctype-lowercase-trick": domain(head=f"<!doctype domain SYSTEM '{http}/lower.dtd'>"),
    }


# Attacks that carry no DTD at all: nothing to refuse, but nothing may be fetched or read.
def quiet_attacks(port: int, files: dict[str, Path]) -> dict[str, str]:
    http = f"http://127.0.0.1:{port}"
    canary, fifo = files["canary"].as_uri(), files["fifo"].as_uri()
    xi = "xmlns:xi='http://www.w3.org/2001/XInclude'"
    return {
        "xinclude-file": domain(devices=f"<xi:include {xi} href='{canary}' parse='text'/>"),
        "xinclude-fifo": domain(devices=f"<xi:include {xi} href='{fifo}' parse='text'/>"),
        "xinclude-http": domain(devices=f"<xi:include {xi} href='{http}/xinclude' parse='xml'/>"),
        "stylesheet-pi": domain(head=f"<?xml-stylesheet type='text/xsl' href='{http}/style.xsl'?>"),
        "schema-location": domain(
            attrs=f" xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xsi:schemaLocation='urn:x {http}/s.xsd'"
            f" xsi:noNamespaceSchemaLocation='{http}/n.xsd'"
        ),
        "xml-base-href": domain(attrs=f" xml:base='{canary}'"),
    }


def run_guarded(
    convert: Callable[[], str], files: dict[str, Path]
) -> tuple[str | None, BaseException | None]:
    """Run ``convert`` in a thread: if it blocks on the FIFO, unblock it and fail."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["xml"] = convert()
        except BaseException as exc:  # noqa: BLE001 - inspected by the caller
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(BLOCKED_AFTER)
    if thread.is_alive():
        # Unblock a reader stuck on the pipe, then fail: something opened a local file.
        try:
            fd = os.open(files["fifo"], os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            pytest.fail(f"conversion still running after {BLOCKED_AFTER} s and not blocked on the pipe")
        os.close(fd)
        thread.join(5)
        pytest.fail("the parser opened a local file (it blocked on the named pipe)")
    return outcome.get("xml"), outcome.get("error")  # type: ignore[return-value]


def encodings(text: str) -> Iterator[tuple[str, str | bytes]]:
    """The same document as str and as bytes in encodings that hide '<!DOCTYPE' from a byte search."""
    yield "str", text
    yield "utf-8", text.encode()
    yield "utf-8-bom", codecs.BOM_UTF8 + text.encode()
    yield "utf-16", text.encode("utf-16")
    yield "utf-16-be-no-bom", text.encode("utf-16-be")
    yield "utf-32", text.encode("utf-32")
    yield "utf-32-le-no-bom", text.encode("utf-32-le")
    body = text.split("?>", 1)[1] if text.startswith("<?xml") else text
    yield "ebcdic", ("<?xml version='1.0' encoding='IBM037'?>" + body).encode("cp037")
    yield "latin-1-declared", ("<?xml version='1.0' encoding='ISO-8859-1'?>" + body).encode("latin-1")


def test_dtd_based_attacks_are_refused(listener: Listener, files: dict[str, Path]) -> None:
    before = len(listener.hits)
    for name, text in attacks(listener.port, files).items():
        for encoding, data in encodings(text):
            xml, error = run_guarded(lambda: esxnb.domxml_to_native(data), files)
            where = f"{name} as {encoding}"
            assert xml is None, f"{where} was converted:\n{xml}"
            assert isinstance(error, XMLSyntaxError), f"{where}: {type(error).__name__}: {error}"
            assert CANARY not in str(error), where
    time.sleep(0.2)  # a connection attempt would have reached the listener by now
    assert listener.hits[before:] == [], f"requests were made: {listener.hits[before:]}"


def test_attacks_without_a_dtd_fetch_and_read_nothing(listener: Listener, files: dict[str, Path]) -> None:
    before = len(listener.hits)
    for name, text in quiet_attacks(listener.port, files).items():
        xml, error = run_guarded(lambda: esxnb.domxml_to_native(text), files)
        assert error is None or isinstance(error, EsxnbError), f"{name}: {type(error).__name__}: {error}"
        assert CANARY not in (xml or "") + str(error or ""), name
    time.sleep(0.2)
    assert listener.hits[before:] == [], f"requests were made: {listener.hits[before:]}"


@pytest.mark.parametrize("kind", ["str", "bytes"])
def test_documents_over_the_size_bound_are_refused_before_parsing(kind: str) -> None:
    comment = "<!--" + "x" * (MAX_XML_SIZE + 1) + "-->"
    text = domain() + comment
    data: str | bytes = text if kind == "str" else text.encode()
    # refused by its length (only the size check says this), not by a parser
    with pytest.raises(XMLSyntaxError, match=f"more than the {MAX_XML_SIZE} allowed") as caught:
        esxnb.domxml_to_native(data)
    assert caught.value.line is None and "malformed" not in str(caught.value)


def test_just_under_the_size_bound_is_parsed_normally() -> None:
    text = domain()
    room = MAX_XML_SIZE - len(text)
    chunk = "<!--" + "x" * 999_993 + "-->"  # 1 MB comments: libxml2 caps a single one near 10 MB
    padding = chunk * (room // len(chunk))
    padding += "<!--" + "x" * (room - len(padding) - 7) + "-->"
    padded = text.replace("</domain>", padding + "</domain>")
    assert len(padded) == MAX_XML_SIZE
    assert 'displayName = "t"' in esxnb.domxml_to_native(padded)


def test_compressed_bomb_is_not_inflated() -> None:
    bomb = gzip.compress(
        domain().encode().replace(b"</domain>", b"<!--" + b"x" * 50_000_000 + b"--></domain>")
    )
    assert len(bomb) < MAX_XML_SIZE
    with pytest.raises(XMLSyntaxError, match="malformed domain XML") as caught:
        esxnb.domxml_to_native(bomb)
    # read as the bytes it is: not XML from its first character, nothing was inflated
    assert caught.value.line == 1 and "(column 1)" in str(caught.value)


@pytest.mark.parametrize("depth", [300, 5_000, 1_000_000])
def test_deeply_nested_elements_are_refused(depth: int) -> None:
    nested = "<a>" * depth + "</a>" * depth
    with pytest.raises(XMLSyntaxError) as caught:
        esxnb.domxml_to_native(domain(devices=nested))
    # refused at the parser's depth bound, whatever the depth asked for
    assert caught.value.line == 1 and "depth" in str(caught.value).lower()


@pytest.mark.parametrize(
    "case",
    [
        "many-attributes",
        "long-attribute",
        "many-namespaces",
        "long-name",
        "many-siblings",
    ],
)
def test_big_but_bounded_documents_end_as_expected(case: str) -> None:
    """Inside the size bound, odd shapes convert, or fail with an esxnb error naming the problem."""
    attrs = {
        "many-attributes": " ".join(f"a{i}='{i}'" for i in range(200_000)),
        "long-attribute": "x='" + "y" * 8_000_000 + "'",
        "many-namespaces": " ".join(f"xmlns:n{i}='urn:n{i}'" for i in range(100_000)),
    }.get(case, "")
    name = "n" * 5_000_000 if case == "long-name" else "t"
    devices = (
        "<interface type='bridge'><source bridge='b'/></interface>" * 50_000
        if case == "many-siblings"
        else ""
    )
    text = domain(name=name, devices=devices, attrs=" " + attrs if attrs else "")
    assert len(text) <= MAX_XML_SIZE
    if case == "many-siblings":
        with pytest.raises(EsxnbError, match="interface 5 is one too many"):
            esxnb.domxml_to_native(text)
    else:
        assert f'displayName = "{name}"' in esxnb.domxml_to_native(text)


def test_define_refuses_the_same_attacks(listener: Listener, files: dict[str, Path]) -> None:
    """define parses with the same safe parser before it talks to any server."""
    from esxnb.operations import plan_define

    class NoServer:
        """Anything define would ask the server is a failure: parsing must refuse first."""

        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"define reached the server ({name}) with hostile XML")

    before = len(listener.hits)
    for name, text in attacks(listener.port, files).items():
        with pytest.raises(XMLSyntaxError):
            plan_define(NoServer(), text)
    time.sleep(0.2)
    assert listener.hits[before:] == []
