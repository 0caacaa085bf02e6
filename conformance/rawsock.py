"""Raw connections to the target, for what httpx will not send (INPUT-2, INPUT-4, INPUT-5)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 10.0


def address(base_url: str) -> tuple[str, int, bool]:
    parts = urlsplit(base_url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    return str(parts.hostname), port, https


def _context(verify: Any) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context()


def connect(base_url: str, verify: Any, tls: bool = True) -> socket.socket:
    """A connected socket; TLS-wrapped (handshake done) when the target is https and `tls`."""
    host, port, https = address(base_url)
    sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    if https and tls:
        return _context(verify).wrap_socket(sock, server_hostname=host)
    return sock


@contextlib.contextmanager
def open_connection(base_url: str, verify: Any, tls: bool = True) -> Iterator[socket.socket]:
    sock = connect(base_url, verify, tls)
    try:
        yield sock
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def host_header(base_url: str) -> str:
    return urlsplit(base_url).netloc


def exchange(sock: socket.socket, data: bytes, timeout: float = 10.0) -> tuple[bytes, str]:
    """Send `data`, read until the server closes or goes quiet; returns (bytes, how it ended)."""
    ending = "closed"
    try:
        sock.sendall(data)
    except OSError as exc:
        return b"", f"send failed: {type(exc).__name__}"
    received = b""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if received and _complete(received):
                return received, "answered"
            continue
        except ssl.SSLError as exc:
            return received, f"tls error: {exc.reason}"
        except OSError as exc:
            return received, f"reset: {type(exc).__name__}"
        if not chunk:
            return received, ending
        received += chunk
        if _complete(received):
            return received, "answered"
    return received, "timeout"


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(body) >= int(value.strip())
            except ValueError:
                return True
    return True


def status_of(data: bytes) -> int | None:
    if not data.startswith(b"HTTP/"):
        return None
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) > 1 and parts[1].isdigit():
        return int(parts[1])
    return None


def is_closed(sock: socket.socket, wait: float = 0.0) -> bool:
    """True when the peer has closed (or reset) the connection."""
    sock.settimeout(wait if wait > 0 else 0.001)
    try:
        data = sock.recv(1)
    except (TimeoutError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
    return data == b""
