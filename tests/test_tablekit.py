"""The table kit (esxnb._tables): tables declared as data, several read in one retrieval,
per-object expansion, inventory paths, typed columns — against the simulator, checked with
raw pyvmomi."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from pyVmomi import vim

from esxnb._tables import Column, TableSpec, as_int, read_table, read_tables
from esxnb.connection import Connection
from esxnb.domain import DOMAINS
from esxnb.host import HOSTS
from helpers import connect_to

# A table a newcomer might add: one row per virtual disk, expanded from config.hardware.device.
DISKS = TableSpec(
    name="disks_example",
    types=("VirtualMachine",),
    paths=("name", "config.hardware.device", "runtime.host"),
    columns=(
        Column("vm", path="name"),
        Column("label", value=lambda row: row.item["deviceInfo"]["label"]),
        Column("capacity_kib", "Int64", value=lambda row: as_int(row.item.get("capacityInKB"))),
        Column("host", value=lambda row: row.host_place()[0]),
        Column("moref", value=lambda row: row.ref.value),
    ),
    expand=lambda row: [
        d for d in row.get("config.hardware.device") or [] if isinstance(d, dict) and "capacityInKB" in d
    ],
    sort=("vm", "label"),
)

BRIEF = TableSpec(
    name="brief",
    types=("VirtualMachine",),
    paths=("name", "config.hardware.memoryMB"),
    columns=(
        Column("name"),
        Column("memory_mib", "Int64", path="config.hardware.memoryMB"),
        Column(
            "kind",
            ("small", "large"),
            value=lambda row: "small" if (row.get("config.hardware.memoryMB") or 0) < 64 else "large",
        ),
    ),
    keep=lambda row: not str(row.get("name")).endswith("VM1"),
    sort=("name",),
)

DATASTORES = TableSpec(
    name="datastores_example",
    types=("Datastore",),
    paths=("name", "summary.capacity", "summary.freeSpace"),
    columns=(
        Column("name"),
        Column("capacity_mib", "Int64", value=lambda row: as_int(row.get("summary.capacity")) // 2**20),
        Column("moref", value=lambda row: row.ref.value),
    ),
    sort=("name",),
)


@pytest.fixture(scope="module")
def conn(vpx_sim) -> Iterator[Connection]:
    with connect_to(vpx_sim) as connection:
        yield connection


def _raw(conn: Connection, kind: type, paths: list[str], container=None) -> dict[str, dict]:
    """What raw pyvmomi reads object by object below ``container`` (default: the connection's scope)."""
    content = conn.content
    view = content.viewManager.CreateContainerView(container or conn.scope, [kind], True)
    try:
        out = {}
        for obj in view.view:
            out[obj._moId] = {p: _get(obj, p) for p in paths}
        return out
    finally:
        view.DestroyView()


def _get(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def test_expansion_gives_one_row_per_disk(conn: Connection) -> None:
    frame = read_table(conn, DISKS)
    raw = _raw(conn, vim.VirtualMachine, ["name", "config.hardware.device"])
    expected = sorted(
        (props["name"], d.deviceInfo.label, d.capacityInKB)
        for props in raw.values()
        for d in props["config.hardware.device"]
        if isinstance(d, vim.vm.device.VirtualDisk)
    )
    assert expected, "the simulator's VMs have disks"
    got = sorted(zip(frame["vm"], frame["label"], frame["capacity_kib"].astype(int)))
    assert got == expected
    assert str(frame["capacity_kib"].dtype) == "Int64" and str(frame["label"].dtype) == "string"
    assert set(frame["host"]) <= {
        h.name
        for h in conn.content.viewManager.CreateContainerView(
            conn.content.rootFolder, [vim.HostSystem], True
        ).view
    }


def test_keep_categories_and_sort(conn: Connection) -> None:
    frame = read_table(conn, BRIEF)
    names = [n for n in _raw(conn, vim.VirtualMachine, ["name"]).values()]
    expected = sorted(p["name"] for p in names if not p["name"].endswith("VM1"))
    assert list(frame["name"]) == expected
    assert list(frame["kind"].cat.categories[:2]) == ["small", "large"]


def test_several_tables_one_retrieval(conn: Connection) -> None:
    read_tables(conn, [DOMAINS, HOSTS, DATASTORES, DISKS])  # views exist from now on
    frames = read_tables(conn, [DOMAINS, HOSTS, DATASTORES, DISKS, BRIEF])
    assert set(frames) == {"domains", "hosts", "datastores_example", "disks_example", "brief"}
    for frame in frames.values():
        assert frame.attrs["round_trips"] == 1  # one RetrievePropertiesEx for all five
    raw = _raw(conn, vim.Datastore, ["name", "summary.capacity"], container=conn.datacenter)
    assert sorted(frames["datastores_example"]["name"]) == sorted(p["name"] for p in raw.values())
    # the tables read together equal the tables read alone
    assert frames["domains"].equals(conn.domains())
    assert frames["hosts"].equals(conn.hosts())


def test_no_rows_gives_typed_empty_tables(conn: Connection) -> None:
    frame = read_table(conn, dataclasses.replace(BRIEF, keep=lambda row: False))
    assert len(frame) == 0 and list(frame.columns) == ["name", "memory_mib", "kind"]
    assert str(frame["memory_mib"].dtype) == "Int64"


def test_the_collector_is_paused_during_reads_and_comes_back_as_it_was() -> None:
    import gc

    from esxnb._tables._gc import collector_paused

    assert gc.isenabled()
    with collector_paused():
        with collector_paused():  # a second read in another thread
            assert not gc.isenabled()
        assert not gc.isenabled()  # still one read going
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # whoever turned it off keeps it off
    finally:
        gc.enable()
    try:
        with collector_paused():
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.isenabled()


def test_per_object_values_are_shared_by_the_rows_of_one_object_in_one_read() -> None:
    from esxnb._fastpc import Ref
    from esxnb._tables import Row

    calls: list[str] = []
    read, other_read = {}, {}
    vm1, vm2 = Ref("VirtualMachine", "vm-1"), Ref("VirtualMachine", "vm-2")

    def rows(ref: Ref, extra: dict, n: int) -> list[Row]:
        return [Row(ref, {}, None, extra, item=i) for i in range(n)]  # type: ignore[arg-type]

    def devices(row: Row) -> str:
        return row.per_object("devices", lambda: calls.append(row.ref.value) or row.ref.value)

    assert [devices(r) for r in rows(vm1, read, 3) + rows(vm2, read, 2) + rows(vm1, read, 2)] == [
        "vm-1"
    ] * 3 + ["vm-2"] * 2 + ["vm-1"] * 2
    assert calls == ["vm-1", "vm-2"]  # once per object, whatever the rows and tables
    devices(rows(vm1, other_read, 1)[0])
    assert calls == ["vm-1", "vm-2", "vm-1"]  # a new read computes again


def test_rows_are_sorted_as_text_unset_first_and_every_column_follows_its_row() -> None:
    from esxnb._fastpc import Ref
    from esxnb._tables import Row, build_frame

    spec = TableSpec(
        name="t",
        types=("VirtualMachine",),
        paths=(),
        columns=(
            Column("label", value=lambda row: f"row-{row.item[1]}"),
            Column("key", "object", value=lambda row: row.item[0]),
        ),
        sort=("key",),
    )
    keys = [9, None, "x", 10, 9]
    rows = [Row(Ref("VirtualMachine", "vm-1"), {}, None, {}, item=(k, i)) for i, k in enumerate(keys)]  # type: ignore[arg-type]
    frame = build_frame(spec, rows)
    assert list(frame["key"]) == [None, 10, 9, 9, "x"]  # "" < "10" < "9" < "x"; ties keep their order
    assert list(frame["label"]) == ["row-1", "row-3", "row-0", "row-4", "row-2"]


def test_early_columns_leave_what_needs_the_whole_read_to_the_end() -> None:
    from esxnb._fastpc import Ref, Retrieval, Table
    from esxnb._tables import Row
    from esxnb._tables._early import EarlyColumns

    seen_structure: list[object] = []

    def host(row: Row) -> object:
        try:
            return row.host_place()[0]
        except Exception:  # a column's own guard must not turn "not yet" into None
            return "guarded"

    spec = TableSpec(
        name="t",
        types=("VirtualMachine",),
        paths=("name",),
        columns=(
            Column("name"),
            Column("host", value=host),
            Column("auto", value=lambda row: row.extra["autostart"]),
            Column("seen", value=lambda row: seen_structure.append(row.structure) or "x"),
        ),
    )
    early = EarlyColumns([spec], Ref("Folder", "group-d1"))
    page = Retrieval(tables={"VirtualMachine": Table([Ref("VirtualMachine", "vm-1")], [{"name": "a"}])})
    early.page(page)
    assert set(early._columns["t"]) == {"name", "seen"}  # host and auto wait for the end

    class Structure:
        def host_place(self, ref: object) -> tuple[str, None, None, None]:
            return ("esx-1", None, None, None)

    class Reading:
        structure = Structure()

    frame = early.frame(spec, Reading(), {"autostart": "on"})  # type: ignore[arg-type]
    assert frame.to_dict("records") == [{"name": "a", "host": "esx-1", "auto": "on", "seen": "x"}]
    assert len(seen_structure) == 1  # computed once, early
