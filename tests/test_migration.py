"""Migration through vCenter against the simulator: both URI styles of the spec, every refusal.

One vCenter simulator (2 clusters of 2 hosts, 2 standalone hosts) on 127.0.0.3 and two ESX
simulators it manages (standalone hosts DC0_H0 on 127.0.0.2, DC0_H1 on 127.0.0.4), all on one
port as libvirt's ``vcenter=*`` expects. Tests move VMs, so each picks its VM from the server's
current state, and every outcome is read back from the vCenter with a fresh connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyVmomi import vim

from esxnb import errors
from esxnb._collect import retrieve
from esxnb.connection import connect
from esxnb.commands import migrate_command
from esxnb.migration import (
    MigrationCancelledError,
    MigrationResult,
    MigrationTimeoutError,
    classify_validation_events,
    find_destination_host,
)
from esxnb.simulator import Simulator
from esxnb.tasks import TaskCancelledError, wait_for_task
from helpers import ESX_A_IP, ESX_B_IP, VC_IP, World, connect_to, migration_world

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with migration_world(Path(tmp_path_factory.mktemp("ca"))) as built:
        yield built


@pytest.fixture(autouse=True)
def _clean_rules(world: World) -> Iterator[None]:
    yield
    for sim in (world.vc, world.esx_a, world.esx_b):
        sim.reset()


def cluster_hosts(world: World, cluster: str) -> tuple[str, str]:
    """(a host of the cluster holding a VM, another host of the cluster)."""
    hosts = [f"{cluster}_H0", f"{cluster}_H1"]
    placed = {p["host"] for p in world.vms().values()}
    source = next((h for h in hosts if h in placed), None)
    if source is None:
        pytest.skip(f"the simulator placed no VM in {cluster}")
    return source, next(h for h in hosts if h != source)


# -- migrations that succeed ----------------------------------------------------------------


def test_between_two_hosts_of_one_cluster(world: World) -> None:
    source, target = cluster_hosts(world, "DC0_C0")
    name = world.vm_on(source)
    events: list[tuple[int, str]] = []
    with world.connect(world.vpx(f"DC0/DC0_C0/{source}")) as src:
        uuid = src.domain(name).uuid
        result = src.migrate(
            name,
            world.vpx(f"DC0/DC0_C0/{target}"),
            auth=world.auth,
            ca_file=world.ca_file,
            progress=lambda pct, msg: events.append((pct, msg)),
        )
    assert isinstance(result, MigrationResult)
    assert (result.domain, result.source_host, result.destination_host) == (name, source, target)
    assert result.uuid == uuid
    assert world.vms()[name]["host"] == target
    assert events and events[0][0] == 0 and name in events[0][1]


def test_between_clusters_moves_into_the_destination_pool(world: World) -> None:
    source, _ = cluster_hosts(world, "DC0_C0")
    name = world.vm_on(source)
    with (
        world.connect(world.vpx(f"DC0/DC0_C0/{source}")) as src,
        world.connect(world.vpx("DC0/DC0_C1/DC0_C1_H0")) as dst,
    ):
        result = src.migrate(name, dst)
    assert result.destination_host == "DC0_C1_H0"
    now = world.vms()[name]
    assert now["host"] == "DC0_C1_H0"
    assert now["pool"] == world.cluster_pool("DC0_C1")


def test_between_standalone_hosts_of_one_datacenter(world: World) -> None:
    name = world.vm_on("DC0_H0", exclude=("DC0_H0_VM1",))  # DC0_H0_VM1 is kept for the esx:// style
    with world.connect(world.vpx("DC0/DC0_H0")) as src:
        domain = src.domain(name)
        with world.connect(world.vpx("DC0/DC0_H1")) as dst:
            result = src.migrate(domain, dst)
    assert (result.source_host, result.destination_host, result.uuid) == ("DC0_H0", "DC0_H1", domain.uuid)
    assert world.vms()[name]["host"] == "DC0_H1"


def test_esx_uris_with_vcenter_star(world: World) -> None:
    name = "DC0_H0_VM1"
    assert world.vms()[name]["host"] == "DC0_H0"
    with world.connect(world.esx(ESX_A_IP)) as src:
        assert src.vcenter is not None and src.vcenter.session.hostname == VC_IP
        result = src.migrate(name, world.esx(ESX_B_IP), auth=world.auth, ca_file=world.ca_file)
    assert (result.source_host, result.destination_host) == ("DC0_H0", "DC0_H1")
    assert world.vms()[name]["host"] == "DC0_H1"


def test_migrate_command_with_a_named_vcenter_and_progress(world: World) -> None:
    source, target = cluster_hosts(world, "DC0_C1")
    name = world.vm_on(source)
    world.vc.set_task_behaviour("RelocateVM_Task", duration=1.0, steps=4)
    seen: list[int] = []
    result = migrate_command(
        name,
        world.vpx(f"DC0/DC0_C1/{source}"),
        world.vpx(f"DC0/DC0_C1/{target}"),
        auth=world.auth,
        ca_file=world.ca_file,
        progress=lambda pct, _msg: seen.append(pct),
    )
    assert result.destination_host == target
    # it waited for the 1 s relocation: the domain is on the target once it returned, and
    # the task's progress was followed through its steps to the end
    assert world.vms()[name]["host"] == target
    assert len(set(seen)) >= 3 and seen == sorted(seen) and seen[-1] == 100


def test_esx_style_with_explicit_vcenter_host_through_the_command(world: World) -> None:
    # DC0_H1 -> DC0_H0 as the ESX simulators see it: the B simulator mirrors DC0_H1's original VMs.
    name = "DC0_H1_VM0"
    assert world.vms()[name]["host"] == "DC0_H1"
    result = migrate_command(
        name, world.esx(ESX_B_IP, VC_IP), world.esx(ESX_A_IP, VC_IP), auth=world.auth, ca_file=world.ca_file
    )
    assert (result.source_host, result.destination_host) == ("DC0_H1", "DC0_H0")
    assert world.vms()[name]["host"] == "DC0_H0"


# -- refusals before anything moves -----------------------------------------------------------


def test_no_vcenter_in_the_uris(world: World) -> None:
    with pytest.raises(
        errors.MigrationError, match=r"without a vCenter.*source URI esx://127\.0\.0\.2.*vcenter=\*"
    ):
        migrate_command("DC0_H0_VM0", world.esx(ESX_A_IP, None), world.esx(ESX_B_IP), auth=world.auth)
    with world.connect(world.esx(ESX_A_IP, None)) as src:
        with pytest.raises(errors.MigrationError, match=r"without a vCenter.*source connection"):
            src.migrate("DC0_H0_VM0", world.esx(ESX_B_IP))
    with world.connect(world.esx(ESX_A_IP)) as src:
        with pytest.raises(errors.MigrationError, match=r"without a vCenter.*destination URI"):
            src.migrate("DC0_H0_VM0", world.esx(ESX_B_IP, None))
        with world.connect(world.esx(ESX_B_IP, None)) as dst:
            with pytest.raises(errors.MigrationError, match=r"without a vCenter.*destination connection"):
                src.migrate("DC0_H0_VM0", dst)


def test_host_not_managed_by_any_vcenter(esx_sim: Simulator) -> None:
    uri = f"esx://{esx_sim.host}:{esx_sim.port}/?vcenter=*"
    with pytest.raises(errors.ConnectionFailedError, match="not managed by a vCenter"):
        migrate_command("x", uri, uri, auth=(esx_sim.username, esx_sim.password), ca_file=esx_sim.ca_file)


def test_different_vcenters(world: World, vpx_sim: Simulator) -> None:
    name = world.vm_on("DC0_H1")
    before = world.vms()[name]["host"]
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        other = connect_to(vpx_sim)
        with other:
            with pytest.raises(errors.MigrationError, match="same vCenter") as caught:
                src.migrate(name, other)
    assert VC_IP in str(caught.value) and vpx_sim.host in str(caught.value)
    assert world.vms()[name]["host"] == before


def test_domain_not_found(world: World) -> None:
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        with pytest.raises(errors.NotFoundError, match="no-such-vm"):
            src.migrate("no-such-vm", world.vpx("DC0/DC0_H0"), auth=world.auth, ca_file=world.ca_file)


def test_domain_unknown_to_the_vcenter(world: World) -> None:
    @dataclass
    class Ghost:
        name: str = "ghost"
        uuid: str = "12345678-1234-1234-1234-123456789abc"

    with world.connect(world.vpx("DC0/DC0_H1")) as src, world.connect(world.vpx("DC0/DC0_H0")) as dst:
        with pytest.raises(errors.NotFoundError, match=r"no domain with uuid 12345678-.*\(ghost\)"):
            src.migrate(Ghost(), dst)


def test_domain_not_on_the_source_host(world: World) -> None:
    name = world.vm_on("DC0_H1")
    with world.connect(world.vpx("DC0/DC0_H1")) as holder:
        domain = holder.domain(name)
    with (
        world.connect(world.vpx("DC0/DC0_H0")) as src,
        world.connect(world.vpx("DC0/DC0_C0/DC0_C0_H0")) as dst,
    ):
        with pytest.raises(
            errors.NotFoundError, match=rf"{name} is not on the source host DC0_H0.*on DC0_H1"
        ):
            src.migrate(domain, dst)


def test_destination_without_a_host(world: World) -> None:
    name = world.vm_on("DC0_H1")
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        with pytest.raises(
            errors.MigrationError, match=r"destination vpx://127\.0\.0\.3:\d+/DC0/DC0_C0 names no host"
        ):
            src.migrate(name, world.vpx("DC0/DC0_C0"), auth=world.auth, ca_file=world.ca_file)
        with pytest.raises(errors.NotFoundError, match="could not find host 'DC0_C0_H9'"):
            src.migrate(name, world.vpx("DC0/DC0_C0/DC0_C0_H9"), auth=world.auth, ca_file=world.ca_file)


def test_destination_is_the_source(world: World) -> None:
    name = world.vm_on("DC0_H1")
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        with pytest.raises(errors.MigrationError, match=rf"{name} is already on DC0_H1"):
            src.migrate(name, src)


def test_renaming_is_refused(world: World) -> None:
    name = world.vm_on("DC0_H1")
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        with pytest.raises(errors.MigrationError, match=r"renaming .* not supported \(new_name='other'\)"):
            src.migrate(name, world.vpx("DC0/DC0_H0"), new_name="other")
    assert world.vms()[name]["host"] == "DC0_H1"


def test_destination_in_maintenance_mode(world: World) -> None:
    name = world.vm_on("DC0_H1")
    with world.connect(world.vpx("DC0/DC0_H0")) as dst:
        dst.host.EnterMaintenanceMode_Task(timeout=0)
        try:
            with world.connect(world.vpx("DC0/DC0_H1")) as src:
                with pytest.raises(errors.MigrationError, match="DC0_H0 is in maintenance mode"):
                    src.migrate(name, dst)
        finally:
            dst.host.ExitMaintenanceMode_Task(timeout=0)
    assert world.vms()[name]["host"] == "DC0_H1"


def test_server_validation_fault_is_reported_with_its_text(world: World) -> None:
    name = world.vm_on("DC0_H1")
    world.vc.inject_fault(
        "ValidateMigration", fault="InvalidArgument", message="CPU of DC0_H0 is incompatible"
    )
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        with pytest.raises(
            errors.MigrationError,
            match=rf"refused to migrate {name} to DC0_H0: CPU of DC0_H0 is incompatible",
        ):
            src.migrate(name, world.vpx("DC0/DC0_H0"), auth=world.auth, ca_file=world.ca_file)
    assert world.vms()[name]["host"] == "DC0_H1"


def test_validation_events_split_into_problems_and_warnings() -> None:
    events = [
        vim.event.MigrationHostErrorEvent(fullFormattedMessage="Host CPU is incompatible"),
        vim.event.MigrationHostWarningEvent(fullFormattedMessage="Network label differs"),
        vim.event.MigrationResourceErrorEvent(fault=vmodl_fault("Insufficient memory on the destination")),
    ]
    problems, warnings = classify_validation_events(events)
    assert problems == ["Host CPU is incompatible", "Insufficient memory on the destination"]
    assert warnings == ["Network label differs"]
    assert classify_validation_events(None) == ([], [])


def vmodl_fault(text: str) -> vim.LocalizedMethodFault:
    return vim.LocalizedMethodFault(
        fault=vim.fault.InsufficientResourcesFault(msg=text), localizedMessage=text
    )


# -- the move fails or takes too long -------------------------------------------------------------


@pytest.mark.parametrize("in_task", [True, False], ids=["task-fails", "call-refused"])
def test_failed_relocation_says_where_the_domain_is(world: World, in_task: bool) -> None:
    name = world.vm_on("DC0_H1")
    world.vc.inject_fault(
        "RelocateVM_Task", fault="MigrationFault", message="vMotion interface down", task=in_task
    )
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        with pytest.raises(
            errors.MigrationError,
            match=rf"migration of {name} failed: .*vMotion interface down.*"
            r"the domain is still on DC0_H1",
        ):
            src.migrate(name, world.vpx("DC0/DC0_H0"), auth=world.auth, ca_file=world.ca_file)
    assert world.vms()[name]["host"] == "DC0_H1"


def test_timeout_reports_where_the_domain_is(world: World) -> None:
    name = world.vm_on("DC0_H1")
    world.vc.set_task_behaviour("RelocateVM_Task", duration=2.0, steps=4)
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        with pytest.raises(
            MigrationTimeoutError, match=rf"{name} did not finish within 0.3 s.*on DC0_H1 for now"
        ) as caught:
            src.migrate(name, world.vpx("DC0/DC0_H0"), timeout=0.3, auth=world.auth, ca_file=world.ca_file)
    assert isinstance(caught.value, errors.TaskTimeoutError)


# -- cancelling ---------------------------------------------------------------------------------


@pytest.mark.timeout(60, func_only=True)
def test_cancel_event_stops_the_relocation(world: World) -> None:
    name = world.vm_on("DC0_H1")
    world.vc.set_task_behaviour("RelocateVM_Task", duration=5, steps=10)
    event = threading.Event()
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        timer = threading.Timer(0.5, event.set)
        timer.start()
        with pytest.raises(
            MigrationCancelledError,
            match=rf"migration of {name} was stopped by the caller; the task was cancelled; "
            r"the domain is still on DC0_H1",
        ) as caught:
            src.migrate(name, "DC0_H0", cancel_event=event)
        timer.cancel()
        error = caught.value
        assert isinstance(error, errors.MigrationError) and isinstance(error, TaskCancelledError)
        assert error.server_cancelled and error.task
        # the vCenter ended the 5 s relocation as cancelled, before it moved anything
        task = vim.Task(error.task, src.si._stub)
        info = retrieve(src.content, [task], ["info.state", "info.cancelled"])[task]
        assert info["info.state"] == "error" and info["info.cancelled"] is True, info
    assert world.vms()[name]["host"] == "DC0_H1"


def test_cancel_event_set_beforehand_moves_nothing(world: World) -> None:
    name = world.vm_on("DC0_H1")
    event = threading.Event()
    event.set()
    with pytest.raises(
        MigrationCancelledError,
        match=rf"migration of {name} was cancelled by the caller before it started; the domain stays on DC0_H1",
    ):
        migrate_command(
            name,
            world.vpx("DC0/DC0_H1"),
            "DC0_H0",
            auth=world.auth,
            ca_file=world.ca_file,
            cancel_event=event,
        )
    assert world.vms()[name]["host"] == "DC0_H1"


# -- destinations named inside the source's vCenter ---------------------------------------------


def test_destination_by_host_name_and_by_path(world: World) -> None:
    source, target = cluster_hosts(world, "DC0_C1")
    name = world.vm_on(source)
    with world.connect(world.vpx(f"DC0/DC0_C1/{source}")) as src:
        result = src.migrate(name, target)  # no credentials: the source's vCenter session resolves it
    assert (result.source_host, result.destination_host) == (source, target)
    assert world.vms()[name]["host"] == target
    logins: list[str] = []

    def counting_auth(challenge: str) -> tuple[str, str]:
        logins.append(challenge)
        return world.auth(challenge)

    back = migrate_command(
        name,
        world.vpx(f"DC0/DC0_C1/{target}"),
        f"DC0/DC0_C1/{source}",
        auth=counting_auth,
        ca_file=world.ca_file,
    )
    assert (back.source_host, back.destination_host) == (target, source)
    assert logins == [VC_IP]  # the source's login only
    assert world.vms()[name]["host"] == source


def test_destination_names_that_do_not_resolve(world: World) -> None:
    name = world.vm_on("DC0_H1")
    with world.connect(world.vpx("DC0/DC0_H1")) as src:
        with pytest.raises(
            errors.NotFoundError,
            match=r"vCenter 127\.0\.0\.3 has no host called 'DC0_C0_H7' \(did you mean: ",
        ) as caught:
            src.migrate(name, "DC0_C0_H7")
        assert {"DC0_C0_H0", "DC0_C0_H1"} <= set(caught.value.suggestions)
        with pytest.raises(
            errors.NotFoundError, match=r"no host called 'zzz'; its hosts: DC0_C0_H0, DC0_C0_H1, "
        ):
            src.migrate(name, "zzz")
        with pytest.raises(errors.NotFoundError, match="could not find host 'DC0_C0_H9'"):
            src.migrate(name, "DC0/DC0_C0/DC0_C0_H9")
        with pytest.raises(
            errors.ValidationError, match=r"destination path 'DC0/DC0_C0' names no host.*DC0_C0_H0, DC0_C0_H1"
        ):
            src.migrate(name, "DC0/DC0_C0")
        with pytest.raises(errors.ValidationError, match="the migration destination is empty"):
            src.migrate(name, " / ")
        with pytest.raises(errors.MigrationError, match=rf"{name} is already on DC0_H1"):
            src.migrate(name, "dc0_h1")  # host names are matched regardless of case
    assert world.vms()[name]["host"] == "DC0_H1"


def test_migration_destinations_are_the_vcenters_hosts(world: World) -> None:
    expected = {f"DC0_C{c}_H{h}" for c in (0, 1) for h in (0, 1)} | {"DC0_H0", "DC0_H1"}
    with world.connect(world.vpx("DC0/DC0_H1")) as src, world.connect(world.esx(ESX_A_IP)) as esx_src:
        for conn in (src, esx_src):
            hosts = conn.migration_destinations()
            assert set(hosts["name"]) == expected
            assert conn.vcenter is not None
            for row in hosts.itertuples(index=False):
                host, host_name = find_destination_host(conn.vcenter, row.path)
                assert (host._moId, host_name) == (row.moref, row.name)
    with world.connect(world.esx(ESX_A_IP, None)) as lone:
        with pytest.raises(errors.MigrationError, match="without a vCenter"):
            lone.migrate("DC0_H0_VM0", "DC0_H1")
        with pytest.raises(errors.MigrationError, match="without a vCenter"):
            lone.migration_destinations()


def test_a_host_name_used_twice_is_ambiguous() -> None:
    with Simulator("vpx", datacenters=2, clusters=1, hosts=1, standalone_hosts=1, vms=1) as sim:
        with connect(
            f"vpx://{sim.host}:{sim.port}/DC1", auth=(sim.username, sim.password), ca_file=sim.ca_file
        ) as vc:
            # a second host called DC0_C0_H0, standalone in DC1
            spec = vim.host.ConnectSpec(hostName="DC0_C0_H0", userName="root", password="unused", force=True)
            wait_for_task(vc, vc.datacenter.hostFolder.AddStandaloneHost_Task(spec=spec, addConnected=True))
            with pytest.raises(
                errors.ValidationError,
                match=r"2 hosts of vCenter .* are called 'DC0_C0_H0': DC0/DC0_C0/DC0_C0_H0, DC1/DC0_C0_H0; "
                "give the path",
            ):
                find_destination_host(vc, "DC0_C0_H0")
            first, _ = find_destination_host(vc, "DC0/DC0_C0/DC0_C0_H0")
            second, _ = find_destination_host(vc, "/DC1/DC0_C0_H0/")
            assert first._moId != second._moId
            assert find_destination_host(vc, "DC1_H0")[1] == "DC1_H0"
