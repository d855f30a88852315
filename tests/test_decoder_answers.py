"""The bulk decoder never turns a strange answer into wrong data: answers crafted here are
served in place of the simulator's RetrievePropertiesEx results by a loopback HTTP proxy, and
read through the real session code (esxnb's FastCollector over the session's connection)."""

from __future__ import annotations

import http.client
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pyVmomi import vim, vmodl

from esxnb import errors
from esxnb._fastpc import MAX_VALUE_TEXT, FastCollector, Ref
from esxnb.connection import Connection, connect
from esxnb.simulator import Simulator

pytestmark = pytest.mark.simulator

PC = vmodl.query.PropertyCollector

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{}</soapenv:Body></soapenv:Envelope>'
)


def result(*objects: str, token: str = "") -> str:
    inner = (f"<token>{token}</token>" if token else "") + "".join(objects)
    return ENVELOPE.format(
        f'<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>{inner}</returnval></RetrievePropertiesExResponse>'
    )


def vm(moref: str, *props: tuple[str, str], missing: str = "") -> str:
    sets = "".join(f"<propSet><name>{name}</name>{val}</propSet>" for name, val in props)
    return f'<objects><obj type="VirtualMachine">{moref}</obj>{sets}{missing}</objects>'


class AnswerProxy(ThreadingHTTPServer):
    """Forwards to the simulator; RetrievePropertiesEx gets ``answer`` (status, type, body) instead."""

    daemon_threads = True

    def __init__(self, sim: Simulator) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.sim = sim
        self.answer: tuple[int, str, bytes] | None = None
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()


class _Handler(BaseHTTPRequestHandler):
    server: AnswerProxy

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._forward(b"")

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        crafted = self.server.answer
        if crafted is not None and b"<RetrievePropertiesEx" in body:
            self._reply(*crafted, cookie=None)
        else:
            self._forward(body)

    def _forward(self, body: bytes) -> None:
        upstream = http.client.HTTPConnection(self.server.sim.host, self.server.sim.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "accept-encoding")}
        upstream.request(self.command, self.path, body if self.command == "POST" else None, headers)
        reply = upstream.getresponse()
        payload = reply.read()
        upstream.close()
        self._reply(
            reply.status, reply.getheader("Content-Type") or "", payload, cookie=reply.getheader("Set-Cookie")
        )

    def _reply(self, status: int, kind: str, payload: bytes, *, cookie: str | None) -> None:
        self.send_response(status)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("esx", vms=2, transport="http") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def proxy(sim: Simulator) -> Iterator[AnswerProxy]:
    server = AnswerProxy(sim)
    yield server
    server.shutdown()


@pytest.fixture
def conn(sim: Simulator, proxy: AnswerProxy) -> Iterator[Connection]:
    proxy.answer = None
    uri = f"esx://127.0.0.1:{proxy.server_address[1]}/?transport=http"
    with connect(uri, auth=(sim.username, sim.password)) as connection:
        yield connection
    proxy.answer = None


def _retrieve(conn: Connection, proxy: AnswerProxy, body: str, status: int = 200, kind: str = "text/xml"):
    proxy.answer = (status, kind, body.encode())
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=conn.host, skip=False)],
        propSet=[PC.PropertySpec(type=vim.HostSystem, pathSet=["name"])],
    )
    try:
        return FastCollector(conn.session).retrieve([spec])
    finally:
        proxy.answer = None


# -- answers that are no result ---------------------------------------------------------------


def test_a_fault_sent_with_status_200_is_the_fault(conn: Connection, proxy: AnswerProxy) -> None:
    fault = ENVELOPE.format(
        "<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>No permission to read</faultstring>"
        '<detail><NoPermissionFault xmlns="urn:vim25" xsi:type="NoPermission"><object type="Folder">group-d1</object>'
        "<privilegeId>System.Read</privilegeId></NoPermissionFault></detail></soapenv:Fault>"
    )
    with pytest.raises(errors.EsxnbError, match="No permission to read"):
        _retrieve(conn, proxy, fault)


def test_a_proxys_html_page_is_not_an_empty_inventory(conn: Connection, proxy: AnswerProxy) -> None:
    page = "<html><head><title>Proxy</title></head><body><p>Session timed out</p></body></html>"
    proxy.answer = (200, "text/html", page.encode())
    try:
        with pytest.raises(errors.ServerFault, match=r"text/html, starting '<html><head><title>Proxy"):
            conn.domains()
    finally:
        proxy.answer = None
    assert len(conn.domains()) == 2  # the real answers again


def test_an_empty_200_answer_is_an_error(conn: Connection, proxy: AnswerProxy) -> None:
    with pytest.raises(errors.ServerFault, match="not valid XML|not a property retrieval result"):
        _retrieve(conn, proxy, "")


# -- malformed values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("val", "expected"),
    [
        ('<val xsi:type="xsd:int"></val>', "malformed"),
        ('<val xsi:type="xsd:int">4.0</val>', "4.0"),
        ('<val xsi:type="xsd:double">abc</val>', "abc"),
        ('<val xsi:type="xsd:boolean">yes</val>', "not an xsd:boolean"),
    ],
)
def test_malformed_values_name_the_property_and_object(
    conn: Connection, proxy: AnswerProxy, val: str, expected: str
) -> None:
    body = result(
        vm("vm-7", ("name", '<val xsi:type="xsd:string">ok</val>'), ("config.hardware.numCPU", val))
    )
    with pytest.raises(
        errors.ServerFault, match=rf"'config.hardware.numCPU' of VirtualMachine vm-7.*{expected}"
    ):
        _retrieve(conn, proxy, body)


def test_booleans_follow_xsd(conn: Connection, proxy: AnswerProxy) -> None:
    props = [
        (f"b{i}", f'<val xsi:type="xsd:boolean">{word}</val>')
        for i, word in enumerate(("true", "false", "1", "0"))
    ]
    got = _retrieve(conn, proxy, result(vm("vm-7", *props))).properties()[Ref("VirtualMachine", "vm-7")]
    assert [got[f"b{i}"] for i in range(4)] == [True, False, True, False]


# -- the shape of the answer ----------------------------------------------------------------------


def test_comments_and_processing_instructions_are_skipped(conn: Connection, proxy: AnswerProxy) -> None:
    body = result(
        vm(
            "vm-7",
            ("name", '<!-- a comment --><val xsi:type="xsd:string">web<!-- split -->01<?pi x?></val>'),
            ("config.hardware.numCPU", '<val xsi:type="xsd:int"><!-- c -->4</val>'),
            (
                "summary",
                '<val xsi:type="VirtualMachineSummary"><!-- c --><overallStatus>green</overallStatus></val>',
            ),
        )
    )
    got = _retrieve(conn, proxy, body).properties()[Ref("VirtualMachine", "vm-7")]
    assert got["name"] == "web01" and got["config.hardware.numCPU"] == 4
    assert got["summary"] == {"overallStatus": "green", "_type": "VirtualMachineSummary"}


def test_objects_and_tokens_count_only_at_the_top(conn: Connection, proxy: AnswerProxy) -> None:
    nested = (
        '<val xsi:type="KeyAnyValue"><key>x</key><value><objects><obj type="VirtualMachine">vm-99</obj></objects>'
        "<token>not-a-token</token></value></val>"
    )
    got = _retrieve(conn, proxy, result(vm("vm-7", ("extra", nested))))
    assert list(got.properties()) == [Ref("VirtualMachine", "vm-7")]
    assert got.round_trips == 1  # no ContinueRetrievePropertiesEx with the nested "token"


def test_long_texts_and_deep_nesting_decode_within_the_bound(conn: Connection, proxy: AnswerProxy) -> None:
    long_text = "a" * 10_000_001  # more than libxml2 takes without huge_tree, less than 10 MiB
    deep = "<x>" * 300 + "end" + "</x>" * 300
    body = result(
        vm(
            "vm-7",
            ("config.annotation", f'<val xsi:type="xsd:string">{long_text}</val>'),
            ("deep", f'<val xsi:type="Nested">{deep}</val>'),
        )
    )
    got = _retrieve(conn, proxy, body).properties()[Ref("VirtualMachine", "vm-7")]
    assert len(got["config.annotation"]) == 10_000_001
    value = got["deep"]
    for _ in range(299):
        value = value["x"]
    assert value["x"] == "end"
    too_long = result(
        vm("vm-7", ("config.annotation", f'<val xsi:type="xsd:string">{"b" * (MAX_VALUE_TEXT + 1)}</val>'))
    )
    with pytest.raises(
        errors.ServerFault, match="'config.annotation' of VirtualMachine vm-7.*over esxnb's bound"
    ):
        _retrieve(conn, proxy, too_long)


# -- refused properties -------------------------------------------------------------------------


def test_a_refused_property_is_recorded_not_unset(conn: Connection, proxy: AnswerProxy) -> None:
    missing = (
        '<missingSet><path>config.hardware</path><fault><fault xsi:type="NoPermission">'
        '<object type="VirtualMachine">vm-7</object><privilegeId>System.Read</privilegeId></fault>'
        "<localizedMessage>Permission denied</localizedMessage></fault></missingSet>"
    )
    got = _retrieve(
        conn, proxy, result(vm("vm-7", ("name", '<val xsi:type="xsd:string">a</val>'), missing=missing))
    )
    assert [(r.ref.value, r.path, r.fault) for r in got.refused] == [
        ("vm-7", "config.hardware", "NoPermission")
    ]


def test_a_restricted_account_sees_a_warning_and_the_record(sim: Simulator) -> None:
    with connect(sim.uri, auth=(sim.username, sim.password)) as conn:
        name = sorted(conn.domains()["name"])[0]
        moref = conn.domain(name).vm._moId
        sim.restrict_property(name, "config.hardware")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frame = conn.domains()
        finally:
            sim.clear_restrictions()
        messages = [str(w.message) for w in caught if issubclass(w.category, errors.IncompleteDataWarning)]
        assert len(messages) == 1 and "config.hardware of 1 VirtualMachine" in messages[0]
        assert "NoPermission" in messages[0]
        assert frame.attrs["missing"] == [
            {
                "type": "VirtualMachine",
                "path": "config.hardware",
                "fault": "NoPermission",
                "objects": 1,
                "morefs": [moref],
            }
        ]
        row = frame.set_index("name").loc[name]
        assert row.isna()[["vcpus", "max_memory_mib"]].all()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing refused now: no warning
            assert conn.domains().attrs["missing"] == []
