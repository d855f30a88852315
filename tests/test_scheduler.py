"""CPU scheduler parameters: the spec's validation, set_scheduler, and DataFrame preview/apply."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from pyVmomi import vim

from esxnb import errors
from esxnb.connection import Connection
from esxnb.datastore_files import download
from esxnb.scheduler import SchedulerSettings, allocation_spec, settings_from_allocation, validate
from esxnb.simulator import Simulator

# -- validation (no server) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"reservation": 0}, {"reservation": 0}),
        ({"reservation": 1000, "limit": 1000}, {"reservation": 1000, "limit": 1000}),
        ({"reservation": 500, "limit": -1}, {"reservation": 500, "limit": -1}),
        ({"shares": 0}, {"shares": 0}),
        ({"shares": -1}, {"shares": -1}),
        ({"shares": -2}, {"shares": -2}),
        ({"shares": -3}, {"shares": -3}),
        ({"shares": 4000.0}, {"shares": 4000}),
    ],
)
def test_valid_values(kwargs: dict, expected: dict) -> None:
    assert validate(**kwargs) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reservation": -1}, "cannot set reservation to -1 MHz: expecting 0 or more"),
        ({"limit": -2}, r"cannot set limit to -2 MHz: expecting -1 \(unlimited\)"),
        ({"shares": -4}, r"cannot set shares to -4: expecting 0 or more \(custom\), or -1 \(low\)"),
        ({"shares": 2**31}, "cannot set shares to 2147483648"),
        ({"reservation": 1000, "limit": 999}, "limit would be 999 MHz, below the reservation of 1000 MHz"),
        ({"reservation": True}, "reservation must be an integer"),
        ({"limit": 10.5}, "limit must be an integer"),
        ({"shares": "high"}, "shares must be an integer"),
        ({"reservation": float("nan")}, "reservation must be an integer"),
        ({}, "no scheduler parameter given"),
    ],
)
def test_invalid_values_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(errors.ValidationError, match=message):
        validate(**kwargs)


def test_limit_is_checked_against_the_reservation_that_stays() -> None:
    current = SchedulerSettings(reservation=800, limit=-1, shares=-2)
    with pytest.raises(
        errors.ValidationError, match="limit for domain 'vm' would be 500 MHz, below the reservation of 800"
    ):
        validate(limit=500, current=current, domain="vm")
    current = SchedulerSettings(reservation=0, limit=600, shares=-2)
    with pytest.raises(errors.ValidationError, match="would be 600 MHz, below the reservation of 700"):
        validate(reservation=700, current=current)
    assert validate(reservation=700, limit=-1, current=current) == {"reservation": 700, "limit": -1}


def test_settings_from_allocation_use_libvirt_numbers() -> None:
    def allocation(level: str, shares: int = 0, limit: int | None = -1) -> object:
        return vim.ResourceAllocationInfo(
            reservation=10, limit=limit, shares=vim.SharesInfo(level=level, shares=shares)
        )

    assert settings_from_allocation(allocation("low", 500)) == SchedulerSettings(10, -1, -1)
    assert settings_from_allocation(allocation("normal", 1000)) == SchedulerSettings(10, -1, -2)
    assert settings_from_allocation(allocation("high", 2000, limit=None)) == SchedulerSettings(10, -1, -3)
    custom = settings_from_allocation(allocation("custom", 1234, limit=5000))
    assert custom == SchedulerSettings(10, 5000, 1234) and custom.shares_level == "custom"


def test_allocation_spec_holds_only_the_given_fields() -> None:
    spec = allocation_spec({"limit": 300})
    assert spec.limit == 300 and spec.reservation is None and spec.shares is None
    high = allocation_spec({"shares": -3}, vcpus=2).shares
    assert (high.level, high.shares) == ("high", 4000)
    custom = allocation_spec({"shares": 0}).shares
    assert (custom.level, custom.shares) == ("custom", 0)


# -- against the simulator ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["esx", "vpx"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(request.param, vms=3, hosts=1, standalone_hosts=0) as simulator:
        yield simulator


@pytest.fixture
def names(sim: Simulator, conn: Connection) -> Iterator[list[str]]:
    """The VM names, every VM back at the defaults (0 / unlimited / normal) before each test."""
    sim.reset()
    found = sorted(vm["name"] for vm in sim.vms())
    for name in found:
        conn.set_scheduler(name, reservation=0, limit=-1, shares=-2)
    yield found
    sim.reset()


def settings(conn: Connection, name: str) -> dict:
    return conn.domain(name).scheduler()


@pytest.mark.simulator
def test_set_scheduler_round_trip(conn: Connection, names: list[str]) -> None:
    domain = conn.domain(names[0])
    domain.set_scheduler(reservation=100, limit=500, shares=-3)
    assert settings(conn, names[0]) == {
        "reservation": 100,
        "limit": 500,
        "shares": -3,
        "shares_level": "high",
    }
    conn.set_scheduler(names[0], shares=1234)
    assert settings(conn, names[0]) == {
        "reservation": 100,
        "limit": 500,
        "shares": 1234,
        "shares_level": "custom",
    }
    conn.set_scheduler(domain, limit=-1, shares=-1)
    assert settings(conn, names[0]) == {"reservation": 100, "limit": -1, "shares": -1, "shares_level": "low"}
    vmx = download(conn, domain.vmx_path).decode()
    assert 'sched.cpu.min = "100"' in vmx and 'sched.cpu.shares = "low"' in vmx


@pytest.mark.simulator
def test_invalid_set_scheduler_changes_nothing(conn: Connection, names: list[str]) -> None:
    conn.set_scheduler(names[0], reservation=300)
    with pytest.raises(errors.ValidationError, match=f"limit for domain {names[0]!r} would be 200 MHz"):
        conn.set_scheduler(names[0], limit=200)
    with pytest.raises(errors.ValidationError, match="cannot set shares"):
        conn.set_scheduler(names[0], reservation=400, shares=-7)
    assert settings(conn, names[0])["reservation"] == 300


@pytest.mark.simulator
def test_server_fault_on_reconfigure_is_reported(sim: Simulator, conn: Connection, names: list[str]) -> None:
    sim.inject_fault(
        "ReconfigVM_Task", "InsufficientResourcesFault", "no CPU left for the reservation", task=True
    )
    with pytest.raises(errors.TaskError, match="no CPU left for the reservation"):
        conn.set_scheduler(names[0], reservation=90000)
    assert settings(conn, names[0])["reservation"] == 0


def scheduler_frame(conn: Connection) -> pd.DataFrame:
    frame = conn.scheduler()
    assert {"name", "uuid", "reservation_mhz", "limit_mhz", "shares_value", "shares_level"} <= set(
        frame.columns
    )
    return frame


def row_of(frame: pd.DataFrame, name: str) -> int:
    return frame.index[frame["name"] == name][0]


@pytest.mark.simulator
def test_dry_run_previews_only_changes(conn: Connection, names: list[str]) -> None:
    frame = scheduler_frame(conn)
    edited = frame.copy()
    edited.loc[row_of(edited, names[0]), "reservation_mhz"] = 250
    edited.loc[row_of(edited, names[1]), "limit_mhz"] = 3000
    edited.loc[row_of(edited, names[1]), "shares_value"] = -3
    preview = conn.apply_scheduler(edited)
    assert list(preview.columns) == ["domain", "field", "old", "new"]
    assert sorted(map(tuple, preview.astype(object).values.tolist())) == sorted(
        [(names[0], "reservation", 0, 250), (names[1], "limit", -1, 3000), (names[1], "shares", -2, -3)]
    )
    assert settings(conn, names[0])["reservation"] == 0  # nothing applied
    assert conn.apply_scheduler(frame).empty


@pytest.mark.simulator
def test_apply_changes_only_edited_domains(conn: Connection, names: list[str]) -> None:
    edited = scheduler_frame(conn).copy()
    edited.loc[row_of(edited, names[0]), "reservation_mhz"] = 250
    edited.loc[row_of(edited, names[1]), "shares_level"] = "high"
    outcome = conn.apply_scheduler(edited, dry_run=False)
    assert list(outcome.columns) == ["domain", "uuid", "status", "message"]
    status = dict(zip(outcome["domain"], outcome["status"].astype(str)))
    assert status == {names[0]: "ok", names[1]: "ok", names[2]: "unchanged"}
    assert settings(conn, names[0])["reservation"] == 250
    assert settings(conn, names[1])["shares"] == -3
    again = conn.apply_scheduler(scheduler_frame(conn), dry_run=False)
    assert set(again["status"].astype(str)) == {"unchanged"}


@pytest.mark.simulator
def test_conflicting_shares_edits_are_refused(conn: Connection, names: list[str]) -> None:
    edited = scheduler_frame(conn).copy()
    edited.loc[row_of(edited, names[0]), "shares_level"] = "high"
    edited.loc[row_of(edited, names[0]), "shares_value"] = -1
    with pytest.raises(errors.ValidationError, match="conflicting shares edits"):
        conn.apply_scheduler(edited)
    edited.loc[row_of(edited, names[0]), "shares_value"] = -3  # both say high: fine
    preview = conn.apply_scheduler(edited)
    assert preview.astype(object).values.tolist() == [[names[0], "shares", -2, -3]]
    edited.loc[row_of(edited, names[0]), "shares_level"] = "custom"
    edited.loc[row_of(edited, names[0]), ["shares", "shares_value"]] = 777
    assert conn.apply_scheduler(edited).astype(object).values.tolist() == [[names[0], "shares", -2, 777]]


@pytest.mark.simulator
def test_apply_reports_each_domains_outcome(sim: Simulator, conn: Connection, names: list[str]) -> None:
    edited = scheduler_frame(conn).copy()
    edited.loc[row_of(edited, names[0]), "limit_mhz"] = 800
    edited.loc[row_of(edited, names[1]), "limit_mhz"] = 900
    sim.inject_fault(
        "ReconfigVM_Task", "InsufficientResourcesFault", "admission control refused", task=True, count=1
    )
    outcome = conn.apply_scheduler(edited, dry_run=False).set_index("domain")
    first, second = sorted([names[0], names[1]], key=lambda n: list(edited["name"]).index(n))
    assert outcome.loc[first, "status"] == "error"
    assert "admission control refused" in outcome.loc[first, "message"]
    assert outcome.loc[second, "status"] == "ok" and "limit -1 -> " in outcome.loc[second, "message"]
    assert settings(conn, first)["limit"] == -1 and settings(conn, second)["limit"] in (800, 900)


@pytest.mark.simulator
def test_every_row_is_validated_before_any_change(conn: Connection, names: list[str]) -> None:
    edited = scheduler_frame(conn).copy()
    edited.loc[row_of(edited, names[0]), "reservation_mhz"] = 100  # valid
    edited.loc[row_of(edited, names[1]), "shares_value"] = -9  # invalid
    edited.loc[row_of(edited, names[2]), "reservation_mhz"] = 5000
    edited.loc[row_of(edited, names[2]), "limit_mhz"] = 10  # below the reservation
    with pytest.raises(errors.ValidationError) as info:
        conn.apply_scheduler(edited, dry_run=False)
    text = str(info.value)
    assert "2 row(s)" in text and "nothing was changed" in text
    assert (
        names[1] in text
        and "cannot set shares" in text
        and names[2] in text
        and "below the reservation" in text
    )
    assert settings(conn, names[0])["reservation"] == 0


@pytest.mark.simulator
def test_apply_refuses_frames_it_cannot_match(conn: Connection, names: list[str]) -> None:
    with pytest.raises(errors.ValidationError, match="takes a pandas DataFrame"):
        conn.apply_scheduler([{"name": names[0]}])  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="needs a 'uuid' or 'name' column"):
        conn.apply_scheduler(pd.DataFrame({"reservation_mhz": [1]}))
    unknown = pd.DataFrame(
        {"uuid": ["00000000-0000-0000-0000-000000000001"], "name": ["ghost"], "reservation_mhz": [5]}
    )
    with pytest.raises(errors.ValidationError, match="ghost.*no domain with uuid"):
        conn.apply_scheduler(unknown)
    twice = pd.DataFrame({"name": [names[0], names[0]], "reservation_mhz": [1, 2]})
    with pytest.raises(errors.ValidationError, match="the same domain as row 0"):
        conn.apply_scheduler(twice)
    empty = pd.DataFrame({"name": [names[0]], "reservation_mhz": [pd.NA]})
    with pytest.raises(errors.ValidationError, match="reservation is empty"):
        conn.apply_scheduler(empty)
