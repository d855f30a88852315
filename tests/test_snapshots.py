"""Snapshots on the simulator: create, list, tree, revert (power state and configuration come
back), delete with and without children, libvirt's XML, and the all-domains table, each read
back through raw pyVmomi."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree
from pyVmomi import vim

from esxnb import errors
from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.snapshot import parse_snapshot_xml
from helpers import connect_to, put_in

pytestmark = pytest.mark.simulator


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=2, clusters=1, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


def _raw_tree(vm: vim.VirtualMachine) -> dict[str, tuple[str | None, str]]:
    """{name: (parent name, power state)} as pyVmomi reads the VM's snapshot tree."""
    found: dict[str, tuple[str | None, str]] = {}

    def visit(nodes: list, parent: str | None) -> None:
        for node in nodes or []:
            found[node.name] = (parent, str(node.state))
            visit(node.childSnapshotList, node.name)

    visit(vm.snapshot.rootSnapshotList if vm.snapshot else [], None)
    return found


def _fresh(conn: Connection, index: int = 0):
    domain = conn.domain(sorted(conn.domains()["name"])[index])
    for record in domain.snapshots()["name"]:
        try:
            domain.snapshot(record).delete(children=True)
        except errors.NotFoundError:
            pass  # removed with its parent
    return put_in(domain, "running")


def test_create_list_and_tree(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        domain = _fresh(conn)
        domain.snapshot_create("base", description="before the upgrade")
        domain.snapshot_create("disk", memory=False)
        domain.snapshot("base").revert()
        domain.snapshot_create("other")
        frame = domain.snapshots()
        assert list(frame["name"]) == ["base", "disk", "other"]
        rows = frame.set_index("name")
        assert rows.loc["base", "description"] == "before the upgrade"
        assert (rows.loc["base", "state"], bool(rows.loc["base", "has_memory"])) == ("running", True)
        assert (rows.loc["disk", "state"], bool(rows.loc["disk", "has_memory"])) == ("shutoff", False)
        assert rows.loc["disk", "parent"] == "base" and rows.loc["other", "parent"] == "base"
        assert list(rows["depth"]) == [0, 1, 1] and list(rows["children"]) == [2, 0, 0]
        assert rows["current"].tolist() == [False, False, True]
        assert str(frame["created"].dtype) == "datetime64[ns, UTC]" and (frame["age_days"] >= 0).all()
        raw = _raw_tree(domain.vm)
        assert raw == {
            "base": (None, "poweredOn"),
            "disk": ("base", "poweredOff"),  # no memory saved: it restores a powered-off VM
            "other": ("base", "poweredOn"),
        }
        assert domain.current_snapshot().name == "other"
        assert domain.snapshot("base").children() == [domain.snapshot("disk"), domain.snapshot("other")]
        assert domain.snapshot("disk").parent == domain.snapshot("base")


def test_revert_restores_power_state_and_configuration(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        domain = _fresh(conn)
        memory = domain.vm.config.hardware.memoryMB
        domain.snapshot_create("running-small")
        domain.destroy()
        domain.set_max_memory(memory * 2)
        domain.snapshot_create("off-big")
        domain.snapshot("running-small").revert()
        assert domain.state == "running" and domain.vm.config.hardware.memoryMB == memory
        domain.snapshot("off-big").revert()
        assert domain.state == "shut off" and domain.vm.config.hardware.memoryMB == memory * 2


def test_delete_with_and_without_children(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        domain = _fresh(conn)
        for name in ("a", "b", "c"):
            domain.snapshot_create(name)
        domain.snapshot("b").delete()  # its child moves up
        assert _raw_tree(domain.vm) == {"a": (None, "poweredOn"), "c": ("a", "poweredOn")}
        domain.snapshot("a").delete(children=True)
        assert _raw_tree(domain.vm) == {}
        assert domain.current_snapshot() is None and domain.snapshots().empty


def test_refusals_name_the_problem(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        domain = _fresh(conn)
        domain.snapshot_create("only")
        with pytest.raises(errors.ExistsError, match="snapshot called 'only' already"):
            domain.snapshot_create("only")
        with pytest.raises(errors.NotFoundError, match="no snapshot 'missing'; it has: only"):
            domain.snapshot("missing")
        with pytest.raises(errors.ValidationError, match="per-disk snapshots are not supported"):
            domain.snapshot_create_xml("<domainsnapshot><disks><disk name='sda'/></disks></domainsnapshot>")
        assert list(domain.snapshots()["name"]) == ["only"]


def test_xml_round_trip(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        domain = _fresh(conn)
        domain.snapshot_create("parent")
        snapshot = domain.snapshot_create_xml(
            "<domainsnapshot><name>from-xml</name><description>made &amp; kept</description>"
            "<memory snapshot='no'/></domainsnapshot>"
        )
        xml = snapshot.xml()
        root = etree.fromstring(xml.encode())
        assert root.findtext("name") == "from-xml" and root.findtext("description") == "made & kept"
        assert root.findtext("state") == "shutoff" and root.findtext("parent/name") == "parent"
        assert root.findtext("domain/uuid") == domain.uuid
        created = domain.snapshots().set_index("name").loc["from-xml", "created"]
        assert int(root.findtext("creationTime")) == int(created.timestamp())
        again = parse_snapshot_xml(xml)
        assert (again.name, again.description, again.memory) == ("from-xml", "made & kept", True)


def test_all_domains_in_one_retrieval(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        first, second = _fresh(conn, 0), _fresh(conn, 1)
        first.snapshot_create("one")
        second.snapshot_create("two")
        second.snapshot_create("three")
        frame = conn.snapshots()
        assert frame.attrs["round_trips"] <= 3  # the retrieval (and views made on first use)
        assert sorted(zip(frame["domain"], frame["name"])) == [
            (first.name, "one"),
            (second.name, "three"),
            (second.name, "two"),
        ]
        assert set(frame["vm_moref"]) == {first.vm._moId, second.vm._moId}
        assert (frame.set_index("name").loc["three", "parent"]) == "two"


def test_two_snapshots_of_one_name_are_told_apart_by_moref(sim: Simulator) -> None:
    """vSphere allows a name twice in one tree (esxnb refuses to create that, other tools do not):
    a handle by name means the first, as in libvirt; a handle with ``moref`` means that one."""
    with connect_to(sim) as conn:
        domain = _fresh(conn, 1)
        domain.snapshot_create("dup", description="first")
        task = domain.vm.CreateSnapshot_Task(name="dup", description="second", memory=False, quiesce=False)
        _wait(task)
        frame = domain.snapshots()
        assert list(frame["name"]) == ["dup", "dup"] and list(frame["description"]) == ["first", "second"]
        first, second = frame["moref"]
        assert domain.snapshot("dup").info()["description"] == "first"
        by_moref = domain.snapshot("dup", moref=second)
        assert by_moref.info()["description"] == "second"
        assert by_moref.parent == domain.snapshot("dup", moref=first)
        assert domain.snapshot("dup").children() == [by_moref]
        assert domain.current_snapshot().moref == second
        with pytest.raises(errors.NotFoundError, match=r"no snapshot 'dup' \(moref snapshot-0\)"):
            domain.snapshot("dup", moref="snapshot-0")
        by_moref.delete()
        left = domain.snapshots()
        assert list(left["moref"]) == [first] and list(left["description"]) == ["first"]


def _wait(task: vim.Task) -> None:
    import time

    while task.info.state in ("queued", "running"):
        time.sleep(0.05)
    assert task.info.state == "success", task.info.error
