"""Count the round trips a PostgreSQL client makes: a loopback TCP proxy that reads its messages.

Used by `apply_speed.py --round-trips` to say where a tool's time on the wire goes, for any client
(psycopg, node-postgres) without touching it. A round trip is one message after which the client
waits for the server's ReadyForQuery: a simple query (`Q`) or the `Sync` (`S`) that ends an
extended-protocol batch (Parse/Bind/Execute, pipelined or not). Each round trip is labelled by the
SQL it carried (the first Parse or Query of the batch, whitespace collapsed, cut to 60 characters).
Plain TCP only: TLS would hide the messages, so the caller asks for `sslmode=disable`.
"""

from __future__ import annotations

import collections
import contextlib
import re
import socket
import struct
import threading
from dataclasses import dataclass, field

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


@dataclass
class ConnectionCount:
    """What one client connection sent: round trips, each labelled by its SQL."""

    round_trips: int = 0
    labels: collections.Counter[str] = field(default_factory=collections.Counter)


def _label(sql: bytes) -> str:
    text = re.sub(r"\s+", " ", sql.decode("utf-8", "replace")).strip()
    return text[:60]


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    """`size` bytes from `sock`, or fewer if the peer closed the connection."""
    chunks = []
    while size > 0:
        chunk = sock.recv(min(size, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _shut(*sockets: socket.socket) -> None:
    """End both directions of each socket, so that the pump thread on the other side stops too."""
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class CountingProxy:
    """A loopback proxy to `host:port` that counts each client connection's round trips.

    Use as a context manager; `port` is where clients connect (127.0.0.1), `connections` holds one
    `ConnectionCount` per client connection, in the order they were accepted.
    """

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[ConnectionCount] = []
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()

    def __enter__(self) -> CountingProxy:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=10)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed
            server = socket.create_connection(self.upstream, timeout=30)
            server.settimeout(None)
            count = ConnectionCount()
            self.connections.append(count)
            self._spawn(self._client_to_server, client, server, count)
            self._spawn(self._server_to_client, server, client)

    @staticmethod
    def _server_to_client(server: socket.socket, client: socket.socket) -> None:
        try:
            while data := server.recv(65536):
                client.sendall(data)
        except OSError:
            pass
        finally:
            _shut(client, server)

    @staticmethod
    def _client_to_server(client: socket.socket, server: socket.socket, count: ConnectionCount) -> None:
        batch_label: str | None = None
        try:
            while True:  # untyped start-up messages: SSL/GSS requests, then the StartupMessage
                header = _recv_exact(client, 8)
                if len(header) < 8:
                    return
                length, code = struct.unpack("!ii", header)
                server.sendall(header + _recv_exact(client, length - 8))
                if code not in (_SSL_REQUEST, _GSSENC_REQUEST):
                    break
            while True:
                header = _recv_exact(client, 5)
                if len(header) < 5:
                    return
                kind, length = header[:1], struct.unpack("!i", header[1:])[0]
                body = _recv_exact(client, length - 4)
                server.sendall(header + body)
                if kind == b"Q":
                    count.round_trips += 1
                    count.labels[_label(body.rstrip(b"\0"))] += 1
                elif kind == b"P" and batch_label is None:
                    query = body.split(b"\0", 2)[1] if body.count(b"\0") >= 2 else b""
                    batch_label = _label(query)
                elif kind == b"S":
                    count.round_trips += 1
                    count.labels[batch_label or "(Bind/Execute of a prepared statement)"] += 1
                    batch_label = None
                elif kind == b"X":
                    return
        except OSError:
            return
        finally:
            _shut(client, server)
