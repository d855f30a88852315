"""Paging for real: the simulator honours maxObjects (its launcher does; govmomi 0.24 ignores
it), so a read spans several RetrievePropertiesEx / ContinueRetrievePropertiesEx pages, the
next page asked for while the current one is decoded; a token or a session that expires
between pages makes the read start again, never return half an inventory."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from pyVmomi import vim, vmodl

import esxnb._tables._read as table_reader
from esxnb._fastpc import FastCollector, StaleSessionError
from esxnb.connection import Connection
from esxnb.simulator import Simulator
from esxnb.tasks import wait_for_task
from helpers import connect_to

pytestmark = pytest.mark.simulator

PC = vmodl.query.PropertyCollector


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("vpx", clusters=2, hosts=2, standalone_hosts=1, vms=3) as simulator:
        yield simulator


def _root(sim: Simulator) -> Connection:
    """A connection to the whole inventory (every VM in scope)."""
    return connect_to(sim, f"vpx://{sim.host}:{sim.port}/")


def _vm_spec(conn: Connection) -> object:
    content = conn.content
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    return PC.FilterSpec(
        objectSet=[
            PC.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[PC.TraversalSpec(name="v", type=vim.view.ContainerView, path="view")],
            )
        ],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "config.uuid"])],
    )


def test_pages_add_up_to_one_read(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        spec = _vm_spec(conn)
        whole = FastCollector(conn.session).retrieve([spec], page_size=None)
        paged = FastCollector(conn.session).retrieve([spec], page_size=4)
        total = len(whole.properties())
        assert total == sim.total_vms() and whole.round_trips == 1
        assert paged.round_trips == -(-total // 4)  # ceil: every page one round trip
        assert paged.properties() == whole.properties()
        # the server repeats one token string for every page: the page after each page is asked
        # for once, by that page's reader (a race here lost or doubled pages under load)
        for _ in range(5):
            assert (
                FastCollector(conn.session).retrieve([spec], page_size=1).properties() == whole.properties()
            )
        # pyVmomi sees the same pages (the launcher's tokens are real ones)
        first = conn.content.propertyCollector.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=4))
        assert len(first.objects) == 4 and first.token


def test_later_pages_are_retrieved_when_asked_for(sim: Simulator) -> None:
    """As on vCenter, maxObjects suspends the retrieval: a later page shows the objects as they
    are when it is asked for (0.24 alone would build every page up front), in the whole read's order."""
    with connect_to(sim) as conn:
        spec = _vm_spec(conn)
        collector = conn.content.propertyCollector
        whole = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
        order = [o.obj._moId for o in whole.objects]
        first = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=2))
        assert [o.obj._moId for o in first.objects] == order[:2]
        last = next(
            vm
            for vm in conn.content.viewManager.CreateContainerView(
                conn.content.rootFolder, [vim.VirtualMachine], True
            ).view
            if vm._moId == order[-1]
        )
        old_name = last.name
        try:
            wait_for_task(conn, last.Rename_Task("renamed-between-pages"))
            seen: dict[str, str] = {}
            token = first.token
            while token:
                page = collector.ContinueRetrievePropertiesEx(token)
                seen.update(
                    {o.obj._moId: dict((p.name, p.val) for p in o.propSet)["name"] for o in page.objects}
                )
                token = page.token
            assert list(seen) == order[2:]
            assert seen[order[-1]] == "renamed-between-pages"
        finally:
            wait_for_task(conn, last.Rename_Task(old_name))


def test_pages_read_ahead_are_decoded_one_at_a_time(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next page is asked for while this one decodes, but decoded only after it: two
    pages decoding side by side would only share the GIL."""
    import threading
    import time

    from esxnb import _fastpc

    active, overlaps, lock = [0], [], threading.Lock()
    decode_object = _fastpc._Page._object

    def slow_object(self: object, element: object) -> None:
        with lock:
            active[0] += 1
            if active[0] > 1:
                overlaps.append(active[0])
        try:
            time.sleep(0.02)  # let the page read ahead arrive meanwhile
            decode_object(self, element)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(_fastpc._Page, "_object", slow_object)
    with connect_to(sim) as conn:
        spec = _vm_spec(conn)
        whole = FastCollector(conn.session).retrieve([spec], page_size=None)
        paged = FastCollector(conn.session).retrieve([spec], page_size=2)
    assert paged.round_trips > 2 and overlaps == []
    assert paged.properties() == whole.properties()


def test_tables_read_over_several_pages(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    with _root(sim) as conn:
        whole = conn.domains()
        monkeypatch.setattr(table_reader, "PAGE_SIZE", 3)
        paged = conn.domains()
    assert paged.attrs["round_trips"] > whole.attrs["round_trips"]
    pd.testing.assert_frame_equal(paged, whole)


class _ExpireAfterFirstPage(FastCollector):
    """Expires the paging tokens (or the session) once the first page is in."""

    def __init__(self, session: object, expire: object) -> None:
        super().__init__(session)
        self.expire = expire
        self.calls = 0

    def _call(self, method, args, result, context, on_token=None, **_):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 2:
            self.expire()
        # no prefetch: the expiry must fall between the pages
        return super()._call(method, args, result, context, None)


def test_a_token_that_expires_mid_read(sim: Simulator) -> None:
    with connect_to(sim) as conn:
        collector = _ExpireAfterFirstPage(conn.session, sim.expire_tokens)
        with pytest.raises(StaleSessionError, match="forgot the retrieval's paging token"):
            collector.retrieve([_vm_spec(conn)], page_size=4)


def test_tables_start_again_when_the_token_expires(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    expired = []

    class Collector(FastCollector):
        def _call(self, method, args, result, context, on_token=None, **_):  # type: ignore[no-untyped-def]
            if method == "ContinueRetrievePropertiesEx" and not expired:
                expired.append(sim.expire_tokens())
            return super()._call(method, args, result, context, None)

    with _root(sim) as conn:
        whole = conn.domains()
        monkeypatch.setattr(table_reader, "FastCollector", Collector)
        monkeypatch.setattr(table_reader, "PAGE_SIZE", 3)
        frame = conn.domains()
    assert expired == [1] and len(whole) == sim.total_vms()
    assert list(frame["name"]) == list(whole["name"])  # read again, whole


def test_the_session_expiring_between_pages(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_reader, "PAGE_SIZE", 3)
    with _root(sim) as conn, connect_to(sim) as admin:
        whole = conn.domains()
        key = conn.content.sessionManager.currentSession.key
        ended = []

        class Collector(FastCollector):
            def _call(self, method, args, result, context, on_token=None, **_):  # type: ignore[no-untyped-def]
                if method == "ContinueRetrievePropertiesEx" and not ended:
                    admin.content.sessionManager.TerminateSession([key])
                    ended.append(key)
                return super()._call(method, args, result, context, None)

        monkeypatch.setattr(table_reader, "FastCollector", Collector)
        frame = conn.domains()
        assert ended == [key] and list(frame["name"]) == list(whole["name"])
        assert conn.content.sessionManager.currentSession.key != key  # logged in again
