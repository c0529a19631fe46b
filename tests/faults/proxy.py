"""A TCP proxy on 127.0.0.1 that the tests cut and restore, standing in for a network fault between
the tool and PostgreSQL or Redis (the shared servers themselves are never stopped).

Two kinds of cut:

* ``refuse``: every open connection is reset and new ones are closed at once, as when the server
  restarts or a firewall rejects: the client sees ``Connection refused/reset`` quickly.
* ``drop``: bytes stop flowing both ways and nothing is closed, as when packets are silently
  dropped: the client's reads hang until its own timeout. On ``restore`` the bytes held meanwhile
  flow again, as TCP retransmission would deliver them; connections the client gave up on are
  closed by the client.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse, urlunparse

OPEN, REFUSE, DROP = "open", "refuse", "drop"


def _reset(sock: socket.socket) -> None:
    """Close with an RST (linger 0), as a refusing peer would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.state = OPEN
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.connections_accepted = 0

    # Control ----------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        threading.Thread(target=self._accept_loop, daemon=True, name=f"fault-proxy-{self.port}").start()
        return self

    def cut(self, mode: str = REFUSE) -> None:
        assert mode in (REFUSE, DROP), mode
        self.state = mode
        if mode == REFUSE:
            with self._lock:
                pairs, self._pairs = self._pairs, []
            for client, upstream in pairs:
                _reset(client)
                _reset(upstream)

    def restore(self) -> None:
        self.state = OPEN

    @contextmanager
    def down(self, mode: str = REFUSE) -> Iterator[None]:
        self.cut(mode)
        try:
            yield
        finally:
            self.restore()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, upstream in pairs:
            _reset(client)
            _reset(upstream)

    def url_for(self, url: str) -> str:
        """``url`` (postgres://, redis://) with its host and port replaced by this proxy's."""
        parsed = urlparse(url)
        auth = parsed.netloc.rpartition("@")[0]
        netloc = (auth + "@" if auth else "") + f"127.0.0.1:{self.port}"
        return urlunparse(parsed._replace(netloc=netloc))

    # Forwarding -------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.state == REFUSE:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            self.connections_accepted += 1
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        ends = {client: upstream, upstream: client}
        try:
            while not self._stopped.is_set():
                if self.state == DROP:
                    time.sleep(0.02)  # nothing read, nothing sent: the kernel buffers fill, the peer waits
                    continue
                readable, _, _ = select.select(list(ends), [], [], 0.05)
                for sock in readable:
                    if self.state != OPEN:
                        break
                    data = sock.recv(65536)
                    if not data:
                        return
                    ends[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                if (client, upstream) in self._pairs:
                    self._pairs.remove((client, upstream))
            _reset(client)
            _reset(upstream)


@contextmanager
def fault_proxy(url: str) -> Iterator[FaultProxy]:
    """A running proxy in front of the server of ``url`` (host and port), stopped afterwards."""
    parsed = urlparse(url)
    default = {"redis": 6379}.get(parsed.scheme, 5432)
    proxy = FaultProxy(parsed.hostname or "127.0.0.1", parsed.port or default).start()
    try:
        yield proxy
    finally:
        proxy.stop()
