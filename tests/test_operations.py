"""Domain look-up and lifecycle operations against the simulator, in both modes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from esxnb import errors
from esxnb._collect import retrieve
from esxnb.connection import Connection, connect
from esxnb.domain import Domain, display_name, inventory_name, normalize_uuid
from esxnb.simulator import Simulator, free_port_on
from helpers import put_in, wait_until
from esxnb.tasks import TaskCancelledError

pytestmark = pytest.mark.simulator

# The simulated guest powers off this long after ShutdownGuest: long enough that a call which
# returns without waiting for it observably returns while the guest is still shutting down.
SHUTDOWN_DELAY = 3.0


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(
        request.param, vms=3, hosts=1, standalone_hosts=0, shutdown_delay=SHUTDOWN_DELAY
    ) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def names(sim: Simulator) -> list[str]:
    return sorted(vm["name"] for vm in sim.vms())


@pytest.fixture
def dom(sim: Simulator, conn: Connection, names: list[str]) -> Iterator[Domain]:
    """The first VM, with tools running; faults and tools reset afterwards."""
    sim.reset()
    sim.set_tools(names[0], "toolsOk")
    yield conn.domain(names[0])
    sim.reset()
    sim.set_tools(names[0], "toolsOk")


# -- look-up ---------------------------------------------------------------------------------


def test_domain_by_name_and_uuid(sim: Simulator, conn: Connection, names: list[str]) -> None:
    info = next(vm for vm in sim.vms() if vm["name"] == names[1])
    by_name = conn.domain(names[1])
    assert (by_name.name, by_name.uuid) == (names[1], info["uuid"])
    compact = info["uuid"].replace("-", "").upper()
    vmware = (
        " ".join(compact[i : i + 2] for i in range(0, 16, 2))
        + "-"
        + " ".join(compact[i : i + 2] for i in range(16, 32, 2))
    )
    for spelling in (info["uuid"], compact, vmware):
        found = conn.domain(spelling)
        assert found == by_name and found.name == names[1]
    assert by_name.vm._moId == found.vm._moId
    assert names[1] in repr(by_name) and info["uuid"] in repr(by_name)


def test_unknown_name_suggests_close_matches(conn: Connection, names: list[str]) -> None:
    typo = names[0][:-1] + "9" + "x"
    with pytest.raises(errors.NotFoundError, match="did you mean") as info:
        conn.domain(typo)
    assert names[0] in info.value.suggestions
    assert repr(typo) in str(info.value)
    with pytest.raises(errors.NotFoundError) as info:
        conn.domain("completely-different")
    assert info.value.suggestions == []


def test_unknown_uuid_and_bad_arguments(conn: Connection) -> None:
    with pytest.raises(errors.NotFoundError, match="uuid '00000000-1111-2222-3333-444444444444'"):
        conn.domain("00000000-1111-2222-3333-444444444444")
    for bad in ("", None, 42):
        with pytest.raises(errors.ValidationError, match="non-empty name or uuid"):
            conn.domain(bad)  # type: ignore[arg-type]


def test_name_escaping_helpers() -> None:
    assert inventory_name("a/b%c\\d") == "a%2fb%25c%5cd"
    assert display_name("a%2fb%25c%5cd") == "a/b%c\\d"
    assert display_name(inventory_name("100% / ä")) == "100% / ä"
    assert (
        normalize_uuid("56 4d 9b ef 7a 1b 2c 3d-4e 5f 60 71 82 93 a4 b5")
        == "564d9bef-7a1b-2c3d-4e5f-60718293a4b5"
    )
    assert normalize_uuid("not-a-uuid") is None


def test_state_and_host(sim: Simulator, dom: Domain) -> None:
    put_in(dom, "running")
    assert dom.state == "running" and dom.power_state == "poweredOn"
    expected_host = (
        "DC0_C0_H0" if sim.mode == "vpx" else next(vm for vm in sim.vms() if vm["name"] == dom.name)["host"]
    )
    assert dom.host_name == expected_host
    assert dom.vmx_path.startswith("[LocalDS_0] ") and dom.vmx_path.endswith(".vmx")


def _guest(dom: Domain) -> tuple[str, str]:
    """(power state, guest state) as the server reports them now."""
    props = retrieve(dom.connection.content, [dom.vm], ["runtime.powerState", "guest.guestState"])[dom.vm]
    return str(props["runtime.powerState"]), str(props.get("guest.guestState"))


SHUTTING_DOWN = ("poweredOn", "shuttingDown")  # asked to shut down, not off yet


def _goes_off(dom: Domain) -> None:
    """The guest, once asked, goes on to power off (bounded poll)."""
    assert wait_until(lambda: dom.state == "shut off", timeout=SHUTDOWN_DELAY + 10, interval=0.2), _guest(dom)


# -- state transitions -----------------------------------------------------------------------


def test_start_suspend_resume_reset_destroy(dom: Domain) -> None:
    put_in(dom, "shut off")
    seen: list[tuple[int, str]] = []
    dom.start(progress=lambda p, m: seen.append((p, m)))
    assert dom.state == "running" and seen[-1] == (100, "success")
    dom.suspend()
    assert dom.state == "paused"
    dom.resume()
    assert dom.state == "running"
    dom.reset()
    assert dom.state == "running"
    dom.destroy()
    assert dom.state == "shut off"


def test_destroy_a_paused_domain(dom: Domain) -> None:
    put_in(dom, "paused")
    dom.destroy()
    assert dom.state == "shut off"


def test_shutdown_waits_for_the_power_state(dom: Domain) -> None:
    put_in(dom, "running")
    seen: list[tuple[int, str]] = []
    dom.shutdown(timeout=20, progress=lambda p, m: seen.append((p, m)))
    assert dom.state == "shut off"  # at once: no task, it waited for the guest to power off
    assert seen == [(0, "guest shutdown requested"), (100, "shut off")]
    assert list(dom.connection.content.propertyCollector.filter or []) == []


@pytest.mark.timeout(60, func_only=True)
def test_shutdown_times_out_when_the_guest_is_slow(dom: Domain) -> None:
    put_in(dom, "running")
    with pytest.raises(errors.TaskTimeoutError, match=r"still running 0\.5 s after the request to shut down"):
        dom.shutdown(timeout=0.5)
    assert _guest(dom) == SHUTTING_DOWN  # it gave up while the guest was still on its way down
    _goes_off(dom)  # the guest went on shutting down


def test_shutdown_without_waiting(dom: Domain) -> None:
    put_in(dom, "running")
    dom.shutdown(timeout=None)
    assert _guest(dom) == SHUTTING_DOWN  # returned once asked, before the guest was off
    _goes_off(dom)


@pytest.mark.timeout(60, func_only=True)
def test_cancel_event_stops_waiting_for_the_guest_shutdown(dom: Domain) -> None:
    put_in(dom, "running")
    event = threading.Event()
    timer = threading.Timer(0.2, event.set)
    timer.start()
    with pytest.raises(
        TaskCancelledError, match="was stopped by the caller; the guest was asked to shut down"
    ):
        dom.shutdown(timeout=20, cancel_event=event)
    timer.cancel()
    assert _guest(dom) == SHUTTING_DOWN  # stopped waiting before the guest was off
    assert list(dom.connection.content.propertyCollector.filter or []) == []
    _goes_off(dom)  # the request itself was not taken back


def test_cancel_event_set_beforehand_asks_the_guest_nothing(dom: Domain) -> None:
    put_in(dom, "running")
    event = threading.Event()
    event.set()
    with pytest.raises(TaskCancelledError, match="shut down of domain .* before it started"):
        dom.shutdown(cancel_event=event)
    # ShutdownGuest would have marked the guest as shutting down at once
    assert _guest(dom) == ("poweredOn", "running")


def test_reboot_keeps_the_domain_running(dom: Domain) -> None:
    put_in(dom, "running")
    seen: list[tuple[int, str]] = []
    dom.reboot(progress=lambda p, m: seen.append((p, m)))
    assert seen == [(100, "guest reboot requested")]
    assert dom.state == "running"


INVALID = [
    ("shut off", "suspend"),
    ("shut off", "resume"),
    ("shut off", "reset"),
    ("shut off", "destroy"),
    ("shut off", "shutdown"),
    ("shut off", "reboot"),
    ("running", "start"),
    ("running", "resume"),
    ("running", "undefine"),
    ("paused", "start"),
    ("paused", "suspend"),
    ("paused", "reset"),
    ("paused", "shutdown"),
    ("paused", "reboot"),
]


@pytest.mark.parametrize(("state", "operation"), INVALID)
def test_invalid_transitions_name_the_state(dom: Domain, state: str, operation: str) -> None:
    put_in(dom, state)
    with pytest.raises(errors.InvalidStateError, match=f"it is {state}, expecting") as info:
        getattr(dom, operation)()
    assert repr(dom.name) in str(info.value)
    assert dom.state == state


# -- VMware tools --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tools", "words"),
    [("toolsNotInstalled", "not installed"), ("toolsNotRunning", "not running")],
)
@pytest.mark.parametrize("operation", ["shutdown", "reboot"])
def test_shutdown_and_reboot_need_tools(
    sim: Simulator, dom: Domain, tools: str, words: str, operation: str
) -> None:
    put_in(dom, "running")
    sim.set_tools(dom.name, tools)
    with pytest.raises(errors.ToolsNotAvailableError, match=f"VMware tools are {words} in the guest") as info:
        getattr(dom, operation)()
    assert "destroy()" in str(info.value)
    assert dom.state == "running"


def test_tools_fault_from_the_server_is_mapped(sim: Simulator, dom: Domain) -> None:
    put_in(dom, "running")
    sim.inject_fault(
        "ShutdownGuest", "ToolsUnavailable", "Cannot complete operation because VMware Tools is not running"
    )
    with pytest.raises(
        errors.ToolsNotAvailableError, match="server says VMware tools are not available"
    ) as info:
        dom.shutdown()
    assert "VMware Tools is not running" in str(info.value)
    assert dom.state == "running"


# -- where libvirt prefers the managing vCenter -------------------------------------------------------


def test_destroy_goes_through_the_managing_vcenter(tmp_path: Path) -> None:
    vc_ip, esx_ip = "127.0.0.3", "127.0.0.2"
    port = free_port_on(vc_ip, esx_ip)
    with Simulator("vpx", listen=vc_ip, port=port, clusters=1, hosts=1, standalone_hosts=0, vms=1) as vc:
        with Simulator("esx", listen=esx_ip, port=port, managed_by=vc, host_name="DC0_C0_H0") as esx:
            bundle = tmp_path / "ca.pem"
            bundle.write_text(Path(vc.ca_file).read_text() + Path(esx.ca_file).read_text())
            sims = {vc_ip: vc, esx_ip: esx}

            def auth(host: str) -> tuple[str, str]:
                return sims[host].username, sims[host].password

            with connect(f"esx://{esx_ip}:{port}/?vcenter={vc_ip}", auth=auth, ca_file=str(bundle)) as conn:
                assert conn.vcenter is not None and conn.vcenter is not conn
                name = next(vm["name"] for vm in esx.vms() if vm["power_state"] == "poweredOn")
                domain = conn.domain(name)
                # a power-off sent to the host itself would fail: the vCenter must be the one asked
                esx.inject_fault("PowerOffVM_Task", "HostNotConnected", "the host refuses")
                domain.destroy()
                on_vc = {vm["name"]: vm["power_state"] for vm in vc.vms()}
                assert on_vc[name] == "poweredOff"
                assert domain.state == "shut off"  # the host follows its vCenter, as a real one does


def test_lookup_stays_within_the_connections_scope() -> None:
    with Simulator("vpx", clusters=1, hosts=2, standalone_hosts=0, vms=2) as vc:
        auth = (vc.username, vc.password)
        other = next(vm for vm in vc.vms() if vm["host"] != "DC0_C0_H0")
        with connect(vc.uri, auth=auth, ca_file=vc.ca_file) as host_conn:
            assert host_conn.location.host_name == "DC0_C0_H0"
            for key in (other["uuid"], other["name"]):
                with pytest.raises(errors.NotFoundError):
                    host_conn.domain(key)
        for path in ("DC0/DC0_C0", "DC0", ""):
            uri = f"vpx://{vc.host}:{vc.port}/{path}"
            with connect(uri, auth=auth, ca_file=vc.ca_file) as wide:
                assert wide.domain(other["uuid"]).name == other["name"]
                assert wide.domain(other["name"]).uuid == other["uuid"]
