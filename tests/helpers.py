"""Helpers several test modules share: connecting to a simulator, putting a domain in a state,
a bounded poll, a loopback HTTP CONNECT proxy, and the vCenter-with-two-ESX-hosts world that
migration tests (esxnb's and virsh's) run in."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim

from esxnb._collect import retrieve
from esxnb.connection import Connection, connect
from esxnb.domain import Domain
from esxnb.simulator import Simulator, free_port_on

__all__ = ["ConnectProxy", "World", "connect_to", "migration_world", "put_in", "wait_until"]

VC_IP, ESX_A_IP, ESX_B_IP = "127.0.0.3", "127.0.0.2", "127.0.0.4"


def connect_to(sim: Simulator, uri: str | None = None, **kwargs: Any) -> Connection:
    """A connection to ``sim`` (or to ``uri`` on it) with its credentials and CA file."""
    return connect(uri or sim.uri, auth=(sim.username, sim.password), ca_file=sim.ca_file, **kwargs)


def put_in(domain: Domain, state: str) -> Domain:
    """Bring ``domain`` to a libvirt state with hard operations."""
    if domain.state == state:
        return domain
    if domain.state != "shut off":
        domain.destroy()
    if state in ("running", "paused"):
        domain.start()
    if state == "paused":
        domain.suspend()
    assert domain.state == state
    return domain


def wait_until(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.1) -> bool:
    """Poll ``condition`` until it holds, for at most ``timeout`` s; whether it holds in the end.

    The bound only keeps a broken test from hanging; tests assert on the outcome, never on how
    long it took (speed is measured in benchmarks/).
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return bool(condition())
        time.sleep(interval)
    return True


class ConnectProxy:
    """A tiny HTTP CONNECT proxy on loopback: counts the tunnels it opened and the bytes it
    relayed to the client."""

    def __init__(self) -> None:
        self.relayed = 0
        self.tunnels = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    break
                head += data
            target = head.split(b" ")[1].decode()
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            for sock in (client, upstream):  # no Nagle delay on the many small SOAP exchanges
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self._lock:
                self.tunnels += 1
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if count:
                    with self._lock:
                        self.relayed += len(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._server.close()


@dataclass
class World:
    vc: Simulator
    esx_a: Simulator  # DC0_H0, managed by vc
    esx_b: Simulator  # DC0_H1, managed by vc
    port: int
    ca_file: str

    def auth(self, challenge: str) -> tuple[str, str]:
        """Answers host and vCenter differently, keyed by the challenge (the host name)."""
        sim = {VC_IP: self.vc, ESX_A_IP: self.esx_a, ESX_B_IP: self.esx_b}[challenge]
        return sim.username, sim.password

    def vpx(self, path: str = "") -> str:
        return f"vpx://{VC_IP}:{self.port}/{path}"

    def esx(self, ip: str, vcenter: str | None = "*") -> str:
        query = f"?vcenter={vcenter}" if vcenter is not None else ""
        return f"esx://{ip}:{self.port}/{query}"

    def connect(self, uri: str) -> Connection:
        return connect(uri, auth=self.auth, ca_file=self.ca_file)

    def vms(self) -> dict[str, dict]:
        """{vm name: {"host": host name, "pool": pool moref id}} read from the vCenter now."""
        with self.connect(self.vpx()) as conn:
            content = conn.content
            view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
            try:
                props = retrieve(content, view.view, ["name", "runtime.host", "resourcePool"])
            finally:
                view.DestroyView()
            hosts = retrieve(content, [p["runtime.host"] for p in props.values()], ["name"])
            return {
                p["name"]: {"host": hosts[p["runtime.host"]]["name"], "pool": p["resourcePool"]._moId}
                for p in props.values()
            }

    def vm_on(self, host: str, exclude: tuple[str, ...] = ()) -> str:
        """A VM now on ``host`` (sorted by name for repeatability)."""
        names = sorted(n for n, p in self.vms().items() if p["host"] == host and n not in exclude)
        if not names:
            pytest.skip(f"no VM left on {host}")
        return names[0]

    def cluster_pool(self, cluster: str) -> str:
        with self.connect(self.vpx(f"DC0/{cluster}")) as conn:
            return retrieve(conn.content, [conn.compute_resource], ["resourcePool"])[conn.compute_resource][
                "resourcePool"
            ]._moId


@contextlib.contextmanager
def migration_world(tmp: Path) -> Iterator[World]:
    """One vCenter simulator (2 clusters of 2 hosts, 2 standalone hosts) on 127.0.0.3 and two ESX
    simulators it manages (standalone hosts DC0_H0 on 127.0.0.2, DC0_H1 on 127.0.0.4), all on one
    port as libvirt's ``vcenter=*`` expects; ``ca_file`` is a bundle of their CAs."""
    port = free_port_on(VC_IP, ESX_A_IP, ESX_B_IP)
    with Simulator("vpx", listen=VC_IP, port=port, clusters=2, hosts=2, standalone_hosts=2, vms=2) as vc:
        with Simulator("esx", listen=ESX_A_IP, port=port, managed_by=vc, host_name="DC0_H0") as esx_a:
            with Simulator("esx", listen=ESX_B_IP, port=port, managed_by=vc, host_name="DC0_H1") as esx_b:
                bundle = tmp / "bundle.pem"
                bundle.write_text("".join(Path(s.ca_file).read_text() for s in (vc, esx_a, esx_b)))
                yield World(vc, esx_a, esx_b, port, str(bundle))
