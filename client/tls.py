"""How the client trusts a board's self-signed certificate: a CA file, or a pinned fingerprint.

Pinning verifies nothing through the CA machinery (there is no CA), so the check must happen
somewhere else before any request byte is sent: the network backend below compares the SHA-256
of the leaf certificate right after the TLS handshake and closes the connection on a mismatch.
Verification is switched off only when the caller says `verify=False` explicitly.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import ssl
from typing import Any

import httpcore
import httpx

from client.errors import PinMismatch


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, lower-case hex without separators."""
    return hashlib.sha256(der).hexdigest()


def normalize_pin(pin: str) -> str:
    """Accept `AB:CD:...`, `ab cd ...` or plain hex (as openssl and browsers print it)."""
    text = re.sub(r"[\s:]", "", pin).lower()
    if text.startswith("sha256/") or text.startswith("sha256="):
        text = text[7:]
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise ValueError("a SHA-256 pin is 64 hex digits (colons and spaces allowed)")
    return text


def ssl_context(ca_cert: str | None, verify: bool, pin_sha256: str | None) -> ssl.SSLContext:
    """The context for the handshake; with a pin and no CA file the pin is the only check."""
    if ca_cert is not None:
        context = ssl.create_default_context(cafile=ca_cert)
        # A board's certificate is its own trust anchor: accept it without a CA above it.
        context.verify_flags |= getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
        return context
    if pin_sha256 is not None or not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context()


def build_transport(
    ca_cert: str | None = None, verify: bool = True, pin_sha256: str | None = None
) -> httpx.BaseTransport:
    context = ssl_context(ca_cert, verify, pin_sha256)
    if pin_sha256 is None:
        return httpx.HTTPTransport(verify=context, trust_env=False)
    return PinnedTransport(context, normalize_pin(pin_sha256))


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport, with a connection pool whose TLS streams check the pin."""

    def __init__(self, context: ssl.SSLContext, pin: str) -> None:
        super().__init__(verify=context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=_PinningBackend(pin)
        )


class _PinningBackend(httpcore.NetworkBackend):
    def __init__(self, pin: str) -> None:
        self._pin = pin
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _PinningStream(self._inner.connect_tcp(*args, **kwargs), self._pin)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _PinningStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, pin: str) -> None:
        self._stream = stream
        self._pin = pin

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, timeout)
        ssl_object = tls.get_extra_info("ssl_object")
        # httpcore hands out the low-level _ssl object: its getpeercert takes no keywords.
        der = ssl_object.getpeercert(True) if ssl_object is not None else None
        if der is None or not hmac.compare_digest(fingerprint(der), self._pin):
            tls.close()
            raise PinMismatch("the server's certificate does not match the pinned SHA-256")
        return tls
