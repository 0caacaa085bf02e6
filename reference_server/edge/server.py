"""uvicorn on a socket we bind ourselves, with the guards uvicorn lacks (INPUT-2, INPUT-4).

uvicorn alone never drops a client that connects and sends nothing (its keep-alive timer starts
only after a first response) and any byte cancels that timer, so a trickling client stays forever;
and it answers an oversized header section with a plain-text 400. The protocol subclass below gives
every request a deadline to arrive whole, and answers h11's refusals in JSON: 431 for a header
section that passes the limit while still incomplete, 413 for a Content-Length of more digits than
h11 takes (INPUT-8), 400 otherwise. A TLS client that never finishes its handshake is dropped by
asyncio's `ssl_handshake_timeout`, which our event loop sets to the same idle timeout (neither
uvicorn nor asyncio has an option for its default).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import re
import socket
import threading
import time
from http import HTTPStatus
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from reference_server.core.clock import Clock
from reference_server.edge.errors import STATUS, error_body
from reference_server.edge.middleware import HEADER_LIMIT

IDLE_TIMEOUT_S = 5.0
KEEP_ALIVE_S = 5

log = logging.getLogger("reference_server")

# h11 refuses a Content-Length of more than 20 digits as malformed; DECISIONS answers any all-digit
# length over the body limit 413, however many digits it has.
HUGE_CONTENT_LENGTH = re.compile(rb"\ncontent-length[ \t]*:[ \t]*[0-9]{21,}[ \t]*\r?\n", re.I)


def guarded_protocol(clock: Clock, idle_timeout: float = IDLE_TIMEOUT_S) -> type[H11Protocol]:
    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _recent = b""  # the last bytes received, for naming h11's refusal (bounded)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._recent = (self._recent + data)[-2 * HEADER_LIMIT :]
            super().data_received(data)
            if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED):
                self._disarm()  # the request is whole; the app's time is not the client's

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request gets its own deadline

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(idle_timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self.conn.their_state not in (h11.DONE, h11.MUST_CLOSE):
                self.transport.close()

        def send_400_response(self, msg: str) -> None:
            buffered = len(self.conn.trailing_data[0])
            if buffered > HEADER_LIMIT:
                code = "request_header_fields_too_large"
            elif HUGE_CONTENT_LENGTH.search(self._recent):
                code = "payload_too_large"
            else:
                code = "invalid_request"
            status = STATUS[code]
            body = json.dumps(error_body(code)).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"connection", b"close"),
                (b"date", email.utils.formatdate(clock.now(), usegmt=True).encode()),
                (b"cache-control", b"no-store"),
            ]
            try:
                for event in (
                    h11.Response(
                        status_code=status, headers=headers, reason=HTTPStatus(status).phrase
                    ),
                    h11.Data(data=body),
                    h11.EndOfMessage(),
                ):
                    self.transport.write(self.conn.send(event))
            except h11.LocalProtocolError:
                pass
            self.transport.close()

    return GuardedH11Protocol


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, as getaddrinfo would give: asyncio sets TCP_NODELAY on accepted sockets
    # only then, and without it Nagle + delayed ACK add 40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_server(
    app: ASGIApp,
    *,
    clock: Clock,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    idle_timeout: float = IDLE_TIMEOUT_S,
    log_level: str = "warning",
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        http=guarded_protocol(clock, idle_timeout),
        lifespan="off",
        date_header=False,
        server_header=False,
        h11_max_incomplete_event_size=HEADER_LIMIT,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=2,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        log_level=log_level,
        access_log=False,
    )
    return uvicorn.Server(config)


class HandshakeTimeoutLoop(asyncio.SelectorEventLoop):
    """asyncio's loop, whose TLS servers drop a handshake that takes longer than the idle limit
    (asyncio's default is 60 s and uvicorn passes none)."""

    def __init__(self, handshake_timeout: float) -> None:
        super().__init__()
        self.handshake_timeout = handshake_timeout

    async def create_server(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_handshake_timeout", self.handshake_timeout)
        return await super().create_server(*args, **kwargs)


def serve(
    server: uvicorn.Server, sock: socket.socket, idle_timeout: float = IDLE_TIMEOUT_S
) -> None:
    """Run until `server.should_exit`, on a loop whose TLS handshakes time out like idle clients."""
    loop = HandshakeTimeoutLoop(idle_timeout)
    try:
        loop.run_until_complete(server.serve(sockets=[sock]))
    finally:
        loop.close()


class BackgroundServer:
    """uvicorn in a daemon thread (EmbeddedServer, tests, the benchmark)."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket, idle_timeout: float) -> None:
        self.server = server
        self.sock = sock
        self.thread = threading.Thread(
            target=serve, args=(server, sock, idle_timeout), daemon=True, name="reference-server"
        )

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.server.started:
            raise RuntimeError("the reference server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
