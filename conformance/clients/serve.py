"""Serving a scenario on loopback: an ASGI app under uvicorn over TLS, or raw bytes (TLS or not)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from conformance.clients.pki import ServerCert


def _listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def asgi_over_tls(app: Any, cert: ServerCert) -> Iterator[str]:
    """Serve `app` over HTTPS on an ephemeral loopback port; yield the base URL."""
    sock = _listener()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        ssl_certfile=str(cert.cert),
        ssl_keyfile=str(cert.key),
        log_level="critical",
        lifespan="off",
        access_log=False,
        interface="asgi3",
        timeout_keep_alive=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            sock.close()
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def raw_server(
    answer: bytes | None, cert: ServerCert | None = None
) -> Iterator[tuple[str, list[bytes]]]:
    """Read each request and answer `answer` bytes (None: say nothing), then close.

    Over TLS with `cert` (after the handshake), plain TCP without. Yields the base URL and the
    list of requests received (raw bytes), for the judge.
    """
    context: ssl.SSLContext | None = None
    if cert is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert.cert), str(cert.key))
    listener = _listener()
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    received: list[bytes] = []
    workers: list[threading.Thread] = []

    def converse(conn: socket.socket) -> None:
        received.append(conn.recv(65536))
        if answer is None:
            stop.wait()
        else:
            conn.sendall(answer)

    def handle(conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            if context is None:
                converse(conn)
            else:
                with context.wrap_socket(conn, server_side=True) as tls:
                    converse(tls)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=handle, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    scheme = "http" if context is None else "https"
    try:
        yield f"{scheme}://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        stop.set()
        acceptor.join(timeout=5)
        for worker in workers:
            worker.join(timeout=5)
        listener.close()
