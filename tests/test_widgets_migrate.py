"""MigrateForm driven headless against a vCenter simulator: pickers, migration with progress,
cancel, refusals — where the domain is afterwards is read back from the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyVmomi import vim

from esxnb._collect import retrieve
from esxnb.connection import Connection, connect
from esxnb.simulator import Simulator
from esxnb.widgets import ConnectForm, MigrateForm
from esxnb.widgets.migrate import CHOOSE_HOST
from helpers import connect_to, wait_until

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def vc() -> Iterator[Simulator]:
    with Simulator("vpx", clusters=1, hosts=2, standalone_hosts=1, vms=2) as sim:
        yield sim


def _open(sim: Simulator, path: str = "") -> Connection:
    return connect(
        f"vpx://{sim.host}:{sim.port}/{path}", auth=(sim.username, sim.password), ca_file=sim.ca_file
    )


def _placement(sim: Simulator) -> dict[str, str]:
    """{vm name: host name} as the vCenter reports it now."""
    with _open(sim) as conn:
        content = conn.content
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        try:
            props = retrieve(content, view.view, ["name", "runtime.host"])
        finally:
            view.DestroyView()
        hosts = retrieve(content, [p["runtime.host"] for p in props.values()], ["name"])
        return {p["name"]: hosts[p["runtime.host"]]["name"] for p in props.values()}


def _all_hosts(sim: Simulator) -> set[str]:
    with _open(sim) as conn:
        content = conn.content
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.HostSystem], True)
        try:
            return {p["name"] for p in retrieve(content, view.view, ["name"]).values()}
        finally:
            view.DestroyView()


def _listed(form: MigrateForm) -> list[str]:
    """Domain names offered by the picker (its values are BIOS UUIDs)."""
    return [label.split(" (on ")[0] for label, _uuid in form.domain.options]


@pytest.fixture
def source(vc: Simulator) -> Iterator[tuple[Connection, str]]:
    """A connection bound to a cluster host that holds at least one VM, and that host's name."""
    vc.clear_faults()
    placement = _placement(vc)
    host = sorted(h for h in set(placement.values()) if h.startswith("DC0_C0_"))[0]
    with _open(vc, f"DC0/DC0_C0/{host}") as conn:
        yield conn, host
    vc.clear_faults()
    vc.set_task_behaviour("RelocateVM_Task", duration=0, steps=1)


def test_pickers_show_the_domains_and_the_other_hosts(vc: Simulator, source: tuple[Connection, str]) -> None:
    conn, host = source
    form = MigrateForm(conn)
    on_host = sorted(name for name, where in _placement(vc).items() if where == host)
    assert sorted(_listed(form)) == on_host
    uuids = dict(zip(form.domains["name"], form.domains["uuid"], strict=True))
    assert sorted(uuid for _label, uuid in form.domain.options) == sorted(uuids[n] for n in on_host)
    assert form.domain.value is None and form.destination.value is None, "nothing is preselected"
    form.domain.value = uuids[on_host[0]]
    assert form.destination.options[0] == (CHOOSE_HOST, None) and form.destination.value is None
    assert form.migrate_button.disabled, "no destination chosen yet"
    form.destination.value = form.destination.options[1][1]
    assert not form.migrate_button.disabled, "choosing a destination enables Migrate"
    form.destination.value = None
    assert form.migrate_button.disabled
    destinations = {label.split(" ")[0] for label, value in form.destination.options if value}
    assert destinations == _all_hosts(vc) - {host}
    form.domain.value = None
    form.filter.value = on_host[0]
    assert _listed(form) == [on_host[0]] and form.domain.value is None, "a single match is not picked for you"
    form.filter.value = "no such domain"
    assert form.domain.options == () and form.migrate_button.disabled


def test_migrate_moves_the_domain_with_progress(vc: Simulator, source: tuple[Connection, str]) -> None:
    conn, host = source
    vc.set_task_behaviour("RelocateVM_Task", duration=2.0, steps=4)
    form = MigrateForm(conn)
    name = _listed(form)[0]
    target = "DC0_C0_H1" if host != "DC0_C0_H1" else "DC0_C0_H0"
    form.choose(name, target)
    form.migrate_button.click()
    # asks first: nothing runs until Confirm
    assert form.confirmation.layout.display is None and name in form.confirmation.text.value
    assert form.wait(0) and form.result is None and _placement(vc)[name] == host
    form.confirmation.confirm_button.click()
    # runs in the background: the click returned with the job going and the domain not yet moved
    assert not form.wait(0) and form.result is None
    assert not form.cancel_button.disabled and form.status.kind == "busy"
    assert _placement(vc)[name] == host
    seen = set()
    while not form.wait(0.1):
        seen.add(form.progress.bar.value)
    assert form.status.kind == "ok", form.status.text
    assert any(0 < value < 100 for value in seen), seen  # the task's progress reached the bar
    assert form.progress.bar.value == 100 and form.progress.bar.bar_style == "success"
    assert form.result.destination_host == target and form.result.source_host == host
    assert f"{name} is now on {target}" in form.status.text
    assert _placement(vc)[name] == target
    # the pickers were re-read: the domain is gone from the source host's list, or shown on the target
    # (the simulator's cached ContainerView of a host keeps a VM that moved away)
    assert all(
        f"on {target}," in label for label, _uuid in form.domain.options if label.startswith(name + " ")
    )
    assert form.cancel_button.disabled
    # a second click moves nothing: both pickers were cleared
    assert form.domain.value is None and form.destination.value is None and form.migrate_button.disabled
    form.request_migration()
    assert form.status.kind == "error" and not form.confirmation.pending
    assert _placement(vc)[name] == target


def test_keep_it_moves_nothing(vc: Simulator, source: tuple[Connection, str]) -> None:
    conn, host = source
    form = MigrateForm(conn)
    name = _listed(form)[0]
    form.choose(name, "DC0_H0")
    form.migrate_button.click()
    form.confirmation.keep_button.click()
    assert form.status.text == "nothing moved" and form.confirmation.layout.display == "none"
    assert form.wait(1) and _placement(vc)[name] == host


def test_cancel_stops_the_migration(vc: Simulator, source: tuple[Connection, str]) -> None:
    conn, host = source
    vc.set_task_behaviour("RelocateVM_Task", duration=5, steps=10)
    form = MigrateForm(conn)
    name = _listed(form)[0]
    form.choose(name, "DC0_H0")
    form.start_migration()
    assert wait_until(lambda: form.progress.bar.value > 0), "no progress reported"
    form.cancel_button.click()
    assert form.wait(30)
    assert form.status.kind == "error" and "cancel" in form.status.text.lower()
    assert "stopped by the caller; the task was cancelled" in form.status.text  # on the server too
    assert f"still on {host}" in form.status.text
    assert form.progress.bar.bar_style == "danger"
    assert _placement(vc)[name] == host


def test_server_refusal_is_shown(vc: Simulator, source: tuple[Connection, str]) -> None:
    conn, host = source
    vc.inject_fault("RelocateVM_Task", fault="MigrationFault", message="vMotion interface down", task=True)
    form = MigrateForm(conn)
    name = _listed(form)[0]
    form.choose(name, "DC0_H0")
    form.start_migration()
    assert form.wait(30)
    assert "vMotion interface down" in form.status.text
    assert _placement(vc)[name] == host


def test_without_a_vcenter_the_form_says_how_to_get_one() -> None:
    with Simulator("esx", vms=1) as esx:
        with connect_to(esx) as conn:
            form = MigrateForm(conn)
            assert form.status.kind == "error"
            assert "vcenter=*" in form.status.text and form.migrate_button.disabled


def test_follows_a_connect_form(vc: Simulator) -> None:
    connect_form = ConnectForm(vc.uri, ca_file=vc.ca_file)
    form = MigrateForm(connect_form)
    assert form.status.text == "waiting for a connection"
    connect_form.password.value = vc.password
    assert connect_form.connect(timeout=30) is not None
    assert form.hosts is not None and "hosts in vCenter" in form.status.text
    connect_form.connection.close()


def test_esx_uri_with_vcenter_star(tmp_path) -> None:
    """The spec's second style: esx://host/?vcenter=* — destinations come from the managing vCenter."""
    from esxnb.simulator import free_port_on

    vc_ip, esx_ip = "127.0.0.3", "127.0.0.2"
    port = free_port_on(vc_ip, esx_ip)
    with Simulator("vpx", listen=vc_ip, port=port, clusters=0, standalone_hosts=2, hosts=0, vms=1) as vc:
        with Simulator("esx", listen=esx_ip, port=port, managed_by=vc, host_name="DC0_H0") as esx:
            bundle = tmp_path / "bundle.pem"
            bundle.write_text("".join(open(s.ca_file).read() for s in (vc, esx)))
            credentials = {vc_ip: (vc.username, vc.password), esx_ip: (esx.username, esx.password)}
            with connect(
                f"esx://{esx_ip}:{port}/?vcenter=*", auth=credentials.get, ca_file=str(bundle)
            ) as conn:
                form = MigrateForm(conn)
                assert form.status.kind == "info", form.status.text
                assert f"vCenter {vc_ip}" in form.status.text
                name = _listed(form)[0]
                form.domain.value = form.domain.options[0][1]
                assert [label.split(" ")[0] for label, value in form.destination.options if value] == [
                    "DC0_H1"
                ]
                form.choose(name, "DC0_H1")
                form.start_migration()
                assert form.wait(30)
                assert form.status.kind == "ok", form.status.text
                assert form.result.source_host == "DC0_H0" and form.result.destination_host == "DC0_H1"
            assert _placement(vc)[name] == "DC0_H1"
