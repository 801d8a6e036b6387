"""A loopback TCP proxy that can stall: the test stand-in for ``kill -STOP``.

``StallProxy(port)`` listens on a free loopback port and forwards every
connection to ``127.0.0.1:port`` (a sandbox server). ``freeze()`` makes it
stop reading from every socket and stop accepting, without closing anything:
the client's bytes are still acknowledged by the kernel and sit unread, new
connections complete their TCP handshake in the listen backlog and get no
answer. That is what a client sees of a server process that was stopped, of
a frozen VM, or of a middlebox holding the connection, and why TCP keepalives
cannot tell it from a busy server. ``thaw()`` resumes forwarding (the
stopped process getting ``SIGCONT``). Everything closes with ``close()`` or
at the end of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType


class StallProxy:
    def __init__(self, upstream_port: int, *, host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self._listener = socket.create_server((host, 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._frozen = threading.Event()
        self._parked = threading.Event()  # the loop saw the freeze
        self._stop = threading.Event()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._thread = threading.Thread(target=self._run, name="stall-proxy", daemon=True)
        self._thread.start()

    def __enter__(self) -> StallProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def freeze(self) -> None:
        """Stop forwarding and accepting; returns once no byte moves any more."""
        self._parked.clear()
        self._frozen.set()
        self._wake()
        if not self._parked.wait(5):
            raise RuntimeError("the proxy did not stop forwarding")

    def thaw(self) -> None:
        """Forward again what waited, and accept again."""
        self._frozen.clear()
        self._wake()

    def close(self) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(5)
        for sock in [*self._peers, self._listener, self._wake_r, self._wake_w]:
            with contextlib.suppress(OSError):
                sock.close()
        self._peers.clear()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _run(self) -> None:
        while not self._stop.is_set():
            frozen = self._frozen.is_set()
            with selectors.DefaultSelector() as selector:
                selector.register(self._wake_r, selectors.EVENT_READ)
                if frozen:
                    self._parked.set()
                else:
                    selector.register(self._listener, selectors.EVENT_READ)
                    for sock in self._peers:
                        selector.register(sock, selectors.EVENT_READ)
                for key, _ in selector.select(0.5):
                    if key.fileobj is self._wake_r:
                        self._wake_r.recv(4096)
                    elif not self._frozen.is_set():
                        self._serve(key.fileobj)  # type: ignore[arg-type]

    def _serve(self, sock: socket.socket) -> None:
        if sock is self._listener:
            try:
                client, _ = sock.accept()
            except BlockingIOError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                return
            client.setblocking(True)
            upstream.settimeout(None)
            self._peers[client] = upstream
            self._peers[upstream] = client
            return
        peer = self._peers.get(sock)
        if peer is None:
            return
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if data:
            try:
                peer.sendall(data)
                return
            except OSError:
                pass
        for end in (sock, peer):
            self._peers.pop(end, None)
            with contextlib.suppress(OSError):
                end.close()
