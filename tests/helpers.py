"""Helpers several test modules share: connecting to a simulator, putting a domain in a state,
a bounded poll, and a loopback HTTP CONNECT proxy."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from esxnb.connection import Connection, connect
from esxnb.domain import Domain
from esxnb.simulator import Simulator

__all__ = ["ConnectProxy", "connect_to", "put_in", "wait_until"]


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
