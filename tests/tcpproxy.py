"""A small loopback TCP proxy for fault tests: forward, delay, stall, cut, come back.

``TCPProxy(target_host, target_port)`` listens on 127.0.0.1 (a free port) and
forwards every accepted connection to the target. Its ``mode`` decides what
happens to traffic *from the server back to the client*:

- ``"forward"``: bytes pass through (after ``delay`` seconds per chunk);
- ``"stall"``: bytes from the server are held back (the client sees silence,
  as with a server that stops answering mid-call) until the mode changes;
- ``"cut"``: open connections are closed at once with a TCP reset, new ones
  are accepted and reset (a dropped connection, a server going away).

``cut_after(n)`` lets ``n`` bytes of each connection's answers through and
then resets that connection (replies cut mid-stream), until the mode changes. ``on_request(pattern, then)`` waits
for a client request containing ``pattern`` (plain http only: TLS hides it),
lets it reach the server, and then either stalls every answer (``"stall"``)
or resets that connection as its answer arrives (``"cut"``): the server did
the work, the client never hears of it. Changing back to ``forward`` is "the
server is back": new connections work again. ``connections`` counts accepted
client connections.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["TCPProxy"]

MODES = ("forward", "stall", "cut")


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN, so the peer sees 'connection reset'."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Pair:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.closed = False
        self.cut_on_answer = False
        self.budget: int | None = None  # bytes from the server still let through (cut_after)
        self.threads: list[threading.Thread] = []

    def cut(self) -> None:
        if not self.closed:
            self.closed = True
            _reset(self.client)
            _reset(self.server)

    def join(self) -> None:
        """Wait for the pump threads: a socket another thread is select()ing on is only
        really closed (and the RST sent) when that select returns."""
        for thread in self.threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2)


class TCPProxy:
    """A loopback proxy in front of ``target_host:target_port``; use as a context manager."""

    def __init__(self, target_host: str, target_port: int, *, listen: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((listen, 0))
        self._listener.listen(64)
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._mode = "forward"
        self._delay = 0.0
        self._cut_budget: int | None = None
        self._trigger: tuple[bytes, str] | None = None
        self.triggered = threading.Event()
        self._pairs: list[_Pair] = []
        self._stopped = False
        self.connections = 0
        self._thread = threading.Thread(target=self._accept_loop, name="tcpproxy-accept", daemon=True)
        self._thread.start()

    # -- control -------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        with self._changed:
            self._mode = mode
            self._cut_budget = None
            for pair in self._pairs:
                pair.budget = None
            pairs = list(self._pairs) if mode == "cut" else []
            self._changed.notify_all()
        for pair in pairs:
            pair.cut()
        for pair in pairs:
            pair.join()

    def forward(self, delay: float = 0.0) -> None:
        """Pass traffic through (again), ``delay`` seconds late per chunk from the server."""
        self._delay = delay
        self.set_mode("forward")

    def stall(self) -> None:
        self.set_mode("stall")

    def cut(self) -> None:
        self.set_mode("cut")

    def cut_after(self, nbytes: int) -> None:
        """From now on, reset every connection after ``nbytes`` more bytes from the server."""
        with self._changed:
            self._mode = "forward"
            self._cut_budget = nbytes
            for pair in self._pairs:
                pair.budget = nbytes
            self._changed.notify_all()

    def on_request(self, pattern: bytes, then: str = "stall") -> None:
        """Arm a one-shot trigger on the next client request containing ``pattern``."""
        if then not in ("stall", "cut"):
            raise ValueError(f"then must be 'stall' or 'cut', not {then!r}")
        with self._lock:
            self._trigger = (pattern, then)
            self.triggered.clear()

    @contextmanager
    def stalled(self) -> Iterator[None]:
        self.stall()
        try:
            yield
        finally:
            self.forward()

    def close(self) -> None:
        with self._changed:
            self._stopped = True
            pairs = list(self._pairs)
            self._changed.notify_all()
        try:
            self._listener.close()
        except OSError:
            pass
        for pair in pairs:
            pair.cut()
        for pair in pairs:
            pair.join()
        self._thread.join(timeout=5)

    def __enter__(self) -> TCPProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------

    def _accept_loop(self) -> None:
        while True:
            try:
                # closing a listener does not wake a blocked accept() on Linux: poll instead
                ready, _, _ = select.select([self._listener], [], [], 0.2)
                if self._stopped:
                    return
                if not ready:
                    continue
                client, _ = self._listener.accept()
            except (OSError, ValueError):
                return
            with self._lock:
                if self._stopped:
                    _reset(client)
                    return
                self.connections += 1
                refuse = self._mode == "cut"
            if refuse:
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            pair = _Pair(client, server)
            with self._lock:
                pair.budget = self._cut_budget
                self._pairs.append(pair)
            pair.threads = [
                threading.Thread(target=self._upstream, args=(pair,), daemon=True),
                threading.Thread(target=self._downstream, args=(pair,), daemon=True),
            ]
            for thread in pair.threads:
                thread.start()

    def _upstream(self, pair: _Pair) -> None:
        """Client -> server, always forwarded (a stall holds back the answers only)."""
        self._pump(pair, pair.client, pair.server, downstream=False)

    def _downstream(self, pair: _Pair) -> None:
        self._pump(pair, pair.server, pair.client, downstream=True)

    def _pump(self, pair: _Pair, src: socket.socket, dst: socket.socket, *, downstream: bool) -> None:
        try:
            while not pair.closed:
                ready, _, _ = select.select([src], [], [], 0.2)
                if not ready:
                    continue
                data = src.recv(65536)
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                if downstream:
                    data = self._hold(pair, data)
                    if data is None:
                        return
                else:
                    self._check_trigger(pair, data)
                dst.sendall(data)
                if downstream and self._budget_spent(pair):
                    return
        except (OSError, ValueError):  # ValueError: select() on a socket closed meanwhile
            pair.cut()
        finally:
            with self._lock:
                if pair.closed and pair in self._pairs:
                    self._pairs.remove(pair)

    def _check_trigger(self, pair: _Pair, data: bytes) -> None:
        with self._changed:
            if self._trigger is None or self._trigger[0] not in data:
                return
            action = self._trigger[1]
            self._trigger = None
            if action == "stall":
                self._mode = "stall"
            else:
                pair.cut_on_answer = True
            self.triggered.set()
            self._changed.notify_all()

    def _hold(self, pair: _Pair, data: bytes) -> bytes | None:
        """Apply stall / delay / cut budget to bytes from the server; None means the pair is gone."""
        with self._changed:
            if pair.cut_on_answer:
                pair.cut()
                return None
            while self._mode == "stall" and not pair.closed and not self._stopped:
                self._changed.wait(0.2)
            if pair.closed or self._stopped or self._mode == "cut":
                pair.cut()
                return None
            if pair.budget is not None:
                data = data[: pair.budget]
                pair.budget -= len(data)
            delay = self._delay
        if delay:
            time.sleep(delay)
        return data

    def _budget_spent(self, pair: _Pair) -> bool:
        with self._lock:
            spent = pair.budget is not None and pair.budget <= 0
        if spent:
            pair.cut()
        return spent
