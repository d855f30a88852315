"""Passwords never show: reprs, exceptions, logs, DataFrames, notebook outputs and widget state.

The simulator's password is distinctive and awkward on purpose: a random core that nothing
else contains, plus characters that XML, URLs, JSON and reprs escape differently. A leak is
any appearance of the random core (which survives every escaping) or of the base64 forms an
HTTP Basic header would carry.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import esxnb
from esxnb import errors
from esxnb.connection import Connection, connect
from esxnb.credentials import CredentialRequest, Credentials, request_credentials
from esxnb.datastore_files import download
from esxnb.simulator import Simulator

from tcpproxy import TCPProxy

pytestmark = pytest.mark.simulator

CORE = "core" + secrets.token_hex(8)
PASSWORD = f"P<&'\" %{CORE}/é!"
WRONG_CORE = "wrong" + secrets.token_hex(8)
WRONG = f"W<&'\" {WRONG_CORE}"


def needles(username: str, password: str, core: str) -> list[str]:
    pair = f"{username}:{password}".encode()
    return [
        core,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(pair).decode(),
        base64.urlsafe_b64encode(pair).decode(),
    ]


def assert_clean(text: str, where: str, username: str = "administrator") -> None:
    for password, core in ((PASSWORD, CORE), (WRONG, WRONG_CORE)):
        for needle in needles(username, password, core):
            assert needle not in text, f"a password leaked into {where}"


def formatted(exc: BaseException) -> str:
    """The whole exception as a notebook would show it: message, chain, traceback."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(getattr(exc, "args", ""))


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("vpx", password=PASSWORD, clusters=1, hosts=2, standalone_hosts=1, vms=2) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def conn(sim: Simulator) -> Iterator[Connection]:
    with connect(sim.uri, auth=(sim.username, PASSWORD), ca_file=sim.ca_file) as connection:
        yield connection


# -- reprs -----------------------------------------------------------------------------------


def test_reprs(sim: Simulator, conn: Connection) -> None:
    credentials = Credentials(sim.username, PASSWORD)
    request = CredentialRequest(challenge=sim.host, scheme="vpx", default_username="administrator")
    found = request_credentials(request, (sim.username, PASSWORD))
    assert found.password == PASSWORD  # the secret is there, only never shown
    shown = [
        repr(conn), str(conn), repr(conn.session), str(conn.session), repr(conn.uri), str(conn.uri),
        repr(credentials), str(credentials), repr(found), str(found), repr(request), repr(conn.info()),
        repr(conn.location), repr(sim), str(sim), f"{conn!r:>10}", repr([conn, credentials]),
    ]  # fmt: skip
    assert_clean("\n".join(shown), "a repr")


def test_uri_with_a_password_is_refused_without_repeating_it() -> None:
    for text in (
        f"vpx://administrator:{CORE}@vc.example.com/",
        f"esx+ssh://root:{CORE}@host/",
        f"esx://host/?proxy=http://user:{CORE}@proxy:3128",
    ):
        with pytest.raises(errors.URIError) as caught:
            esxnb.parse_uri(text)
        assert CORE not in formatted(caught.value), text


# -- exceptions --------------------------------------------------------------------------------


def test_wrong_password_error(sim: Simulator) -> None:
    with pytest.raises(errors.AuthenticationError) as caught:
        connect(sim.uri, auth=(sim.username, WRONG), ca_file=sim.ca_file)
    assert_clean(formatted(caught.value), "the wrong-password error")
    assert sim.username in str(caught.value)


def test_certificate_error(sim: Simulator) -> None:
    with pytest.raises(errors.CertificateError) as caught:
        connect(sim.uri, auth=(sim.username, PASSWORD))
    assert_clean(formatted(caught.value), "the certificate error")


def test_timeout_during_login(sim: Simulator) -> None:
    sim.set_delay("Login", 2.5)
    try:
        with pytest.raises(errors.TimeoutError) as caught:
            connect(sim.uri, auth=(sim.username, PASSWORD), ca_file=sim.ca_file, timeout=1.0)
    finally:
        sim.clear_faults()
    time.sleep(1.6)  # the delayed Login ends on the server before the next test
    assert_clean(formatted(caught.value), "the timeout error")


def test_timeout_and_drop_during_calls(sim: Simulator) -> None:
    with TCPProxy(sim.host, sim.port) as proxy:
        with connect(f"vpx://127.0.0.1:{proxy.port}/", auth=(sim.username, PASSWORD), ca_file=sim.ca_file,
                     timeout=1.5) as through:  # fmt: skip
            proxy.stall()
            with pytest.raises(errors.TimeoutError) as timed_out:
                through.domains()
            proxy.cut()
            with pytest.raises(errors.ConnectionFailedError) as dropped:
                through.domains()
            proxy.forward()
    assert_clean(formatted(timed_out.value) + formatted(dropped.value), "a transport error")


def test_failing_auth_callback(sim: Simulator) -> None:
    def leaky(challenge: str) -> tuple[str, str]:
        raise RuntimeError(f"vault said no to {PASSWORD}")

    def malformed(challenge: str) -> object:
        return (sim.username, PASSWORD, "extra")

    for callback in (leaky, malformed):
        with pytest.raises(errors.CredentialError) as caught:
            connect(sim.uri, auth=callback, ca_file=sim.ca_file)
        assert_clean(formatted(caught.value), f"the error of a {callback.__name__} callback")


def test_session_expired_error() -> None:
    with Simulator("esx", vms=1, password=PASSWORD, session_idle_timeout=1) as esx:
        answers = iter([(esx.username, PASSWORD)])
        conn = connect(esx.uri, auth=lambda challenge: next(answers, None), ca_file=esx.ca_file)
        try:
            time.sleep(3.2)
            with pytest.raises(errors.SessionExpiredError) as caught:
                conn.domains()
        finally:
            conn.close()
    assert_clean(formatted(caught.value), "the session-expired error", username="root")


# -- logs ----------------------------------------------------------------------------------------


@pytest.fixture()
def all_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record of every logger at DEBUG, while the test runs."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler = Keep(level=logging.DEBUG)
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    old = {logger.name: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for logger in loggers:
            logger.setLevel(old[logger.name])


def rendered(records: Iterable[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) + repr(record.args) for record in records)


def test_logs_at_debug_hold_no_password(
    sim: Simulator, all_logs: list[logging.LogRecord], capfd: pytest.CaptureFixture[str]
) -> None:
    auth = (sim.username, PASSWORD)
    with connect(sim.uri_with(no_verify=1), auth=auth) as conn:
        frame = conn.domains()
        conn.scheduler()
        conn.hosts()
        name = str(frame["name"].iloc[0])
        domain = conn.domain(name)
        domain.dumpxml()
        if domain.state == "running":
            domain.suspend()
            domain.resume()
        download(conn, str(frame["vmx_path"].iloc[0]))
        sim.inject_fault("RetrievePropertiesEx", "InvalidState", "injected", count=1)
        with pytest.raises(errors.EsxnbError):
            conn.domains()
    with pytest.raises(errors.AuthenticationError):
        connect(sim.uri, auth=(sim.username, WRONG), ca_file=sim.ca_file)
    esxnb.inventory([sim.uri, sim.uri.replace("127.0.0.1", "localhost")], auth=_wrong_for_localhost(sim),
                              ca_file=sim.ca_file)  # fmt: skip
    assert any(r.name.startswith("esxnb") for r in all_logs), (
        "nothing was logged: the test would prove nothing"
    )
    assert any("verification is disabled" in r.getMessage() for r in all_logs)
    assert_clean(rendered(all_logs), "a log record")
    out, err = capfd.readouterr()
    assert_clean(out + err, "stdout/stderr")


def _wrong_for_localhost(sim: Simulator):  # noqa: ANN202 - a callback
    def auth(challenge: str) -> tuple[str, str]:
        return (sim.username, WRONG if challenge == "localhost" else PASSWORD)

    return auth


# -- DataFrames ----------------------------------------------------------------------------------


def frame_texts(frame) -> str:  # noqa: ANN001 - a DataFrame
    return "\n".join(
        [frame.to_string(), frame.to_csv(), frame.to_json(), frame.to_html(), repr(frame), repr(frame.attrs)]
    )


def test_dataframes(sim: Simulator, conn: Connection) -> None:
    texts = [frame_texts(conn.domains()), frame_texts(conn.scheduler()), frame_texts(conn.hosts())]
    many = esxnb.inventory(
        [sim.uri, sim.uri.replace("127.0.0.1", "localhost")],
        auth=_wrong_for_localhost(sim),
        ca_file=sim.ca_file,
    )
    assert len(many) > 0 and many.attrs.get("errors"), "one server should fail with the wrong password"
    texts.append(frame_texts(many))
    assert_clean("\n".join(texts), "a DataFrame")


# -- no_verify and certificate verification --------------------------------------------------------


def test_no_verify_warns_once_per_connection(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="esxnb"):
        first = connect(sim.uri_with(no_verify=1), auth=(sim.username, PASSWORD))
        second = connect(sim.uri_with(no_verify=1), auth=(sim.username, PASSWORD))
        try:
            for connection in (first, second):
                connection.domains()
                connection.hosts()
                connection.domain(str(connection.domains()["name"].iloc[0]))
        finally:
            first.close()
            second.close()
        verified = connect(sim.uri, auth=(sim.username, PASSWORD), ca_file=sim.ca_file)
        verified.domains()
        verified.close()
    warnings = [r for r in caplog.records if "verification is disabled" in r.getMessage()]
    assert len(warnings) == 2  # one per no_verify connection, none for the verified one
    assert all(r.levelno == logging.WARNING and sim.host in r.getMessage() for r in warnings)


def test_verification_is_on_by_default(sim: Simulator) -> None:
    with pytest.raises(errors.CertificateError) as caught:
        connect(sim.uri, auth=(sim.username, PASSWORD))
    message = str(caught.value)
    assert "no_verify=1" in message  # remedy one: switch verification off knowingly
    assert "CA" in message and "ca_file" in message  # remedy two: trust the server's CA
    with connect(sim.uri, auth=(sim.username, PASSWORD), ca_file=sim.ca_file) as verified:
        assert verified.session.ssl_context.verify_mode.name == "CERT_REQUIRED"
        assert verified.session.ssl_context.check_hostname


# -- an executed notebook and its saved widget state ------------------------------------------------

NOTEBOOK_CELLS = [
    "import os, logging, esxnb\n"
    "logging.basicConfig(level=logging.DEBUG, force=True)\n"
    "conn = esxnb.connect(os.environ['ESXNB_URI'], ca_file=os.environ['ESXNB_CA_FILE'])\n"
    "conn",
    "print(conn, conn.session, conn.info())\nconn.domains()",
    "display(conn.scheduler(), conn.hosts())",
    "from esxnb.widgets import ConnectForm, DomainBrowser\n"
    "form = ConnectForm()\n"
    "display(form)\n"
    "form.password.value = os.environ['ESXNB_PASSWORD']  # as if typed\n"
    "assert form.connect(60) is not None, form.status\n"
    "form.connection",
    "browser = DomainBrowser(form)\nbrowser",
    "bad = ConnectForm()\ndisplay(bad)\nbad.password.value = os.environ['WRONG_PASSWORD']\nbad.connect(60)",
    "esxnb.connect(os.environ['ESXNB_URI'], auth=('administrator', os.environ['WRONG_PASSWORD']),\n"
    "              ca_file=os.environ['ESXNB_CA_FILE'])",
]


def test_executed_notebook_and_widget_state(sim: Simulator, tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESXNB_")}
    if "ESXNB_CACHE" in os.environ:
        env["ESXNB_CACHE"] = os.environ["ESXNB_CACHE"]
    env.update(
        ESXNB_URI=sim.uri, ESXNB_USERNAME=sim.username, ESXNB_PASSWORD=PASSWORD, ESXNB_CA_FILE=sim.ca_file or "",
        WRONG_PASSWORD=WRONG, PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )  # fmt: skip
    client = NotebookClient(
        nb, timeout=120, startup_timeout=60, kernel_name="python3", allow_errors=True,
        store_widget_state=True, resources={"metadata": {"path": str(tmp_path)}},
    )  # fmt: skip
    client.execute(env=env)
    path = tmp_path / "secrets.ipynb"
    nbformat.write(nb, path)
    saved = path.read_text()

    # the notebook really did what it claims, or this test would prove nothing
    outputs = [output for cell in nb.cells for output in cell.get("outputs", [])]
    errors_shown = [o for o in outputs if o.get("output_type") == "error"]
    assert [o["ename"] for o in errors_shown] == ["AuthenticationError"], errors_shown
    assert "DC0_C0_H0" in saved  # domains and hosts were displayed
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    passwords = [m for m in state.values() if m.get("model_name") == "PasswordModel"]
    assert len(passwords) >= 4  # the two forms' password boxes were saved...
    assert all(m["state"].get("value", "") == "" for m in passwords)  # ...empty
    assert_clean(saved, "the saved notebook")
    assert_clean(json.dumps(nb.metadata), "the notebook metadata")
