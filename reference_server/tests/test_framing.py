"""INPUT-8: HTTP/1.1 framing (RFC 9112) over raw loopback sockets: ambiguous or foreign framing is
refused (400, or 413 for an oversized length) and the connection closed; nothing sent after it on
that connection is served, and the next connection is."""

from __future__ import annotations

import json
import socket

import pytest

from reference_server.core.passwords import LIGHT, Passwords
from reference_server.embedded import EmbeddedServer

pytestmark = pytest.mark.slow

INFO = b"GET /api/info HTTP/1.1\r\nHost: t\r\n\r\n"
INFO_THEN_CLOSE = b"GET /api/info HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
BODY = b'{"username":"nobody","password":"wrong"}'


def login_head(*headers: bytes) -> bytes:
    lines = [b"POST /api/auth/login HTTP/1.1", b"Host: t", b"Content-Type: application/json"]
    return b"\r\n".join([*lines, *headers]) + b"\r\n\r\n"


@pytest.fixture(scope="module")
def live():
    server = EmbeddedServer(profile="test", accounts=1, passwords=Passwords(**LIGHT))
    server.start()
    yield server
    server.close()


def exchange(server: EmbeddedServer, data: bytes) -> tuple[list[bytes], bool]:
    """The status lines answered, and whether the server closed the connection (within 3 s)."""
    with socket.create_connection(("127.0.0.1", server._port), timeout=3) as s:
        s.sendall(data)
        received, closed = b"", False
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    statuses = [line for line in received.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    return statuses, closed


def answer_body(server: EmbeddedServer, data: bytes) -> dict:
    with socket.create_connection(("127.0.0.1", server._port), timeout=3) as s:
        s.sendall(data)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    return json.loads(received.split(b"\r\n\r\n", 1)[1])


def refused(server: EmbeddedServer, data: bytes, status: bytes = b"400") -> None:
    statuses, closed = exchange(server, data + INFO)  # a pipelined request after it
    assert [s.split(b" ")[1] for s in statuses] == [status], statuses
    assert closed, "the connection stayed open after a refused framing"
    statuses, _ = exchange(server, INFO_THEN_CLOSE)  # the next connection is served
    assert statuses and statuses[0].startswith(b"HTTP/1.1 200"), statuses


def test_INPUT_8_content_length_and_transfer_encoding_is_400_and_closed(live):
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    head = login_head(b"Content-Length: %d" % len(BODY), b"Transfer-Encoding: chunked")
    refused(live, head + chunked)
    assert answer_body(live, head + chunked)["error"] == "invalid_request"


@pytest.mark.parametrize("version", [b"HTTP/9.9", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.2"])
def test_INPUT_8_other_http_versions_are_400_and_closed(live, version):
    refused(live, b"GET /api/info " + version + b"\r\nHost: t\r\n\r\n")


def test_INPUT_8_http_1_0_is_served(live):
    statuses, closed = exchange(live, b"GET /api/info HTTP/1.0\r\n\r\n")
    assert statuses and statuses[0].startswith(b"HTTP/1.1 200") and closed


@pytest.mark.parametrize("value", [b"a\x00b", b"a\rb", b"a\nb", b"a\x01b", b"a\x7fb"])
def test_INPUT_8_control_characters_in_a_header_value_are_400(live, value):
    refused(live, b"GET /api/info HTTP/1.1\r\nHost: t\r\nX-Probe: " + value + b"\r\n\r\n")


@pytest.mark.parametrize("length", [b"1x", b"-1", b"+5", b"0x10", b"1 2", b"\xef\xbc\x91"])
def test_INPUT_8_a_content_length_that_is_not_decimal_is_400(live, length):
    refused(live, login_head(b"Content-Length: " + length) + BODY)


@pytest.mark.parametrize("digits", [5, 20, 21, 40, 200])
def test_INPUT_8_an_all_digit_length_over_the_limit_is_413_however_many_digits(live, digits):
    head = login_head(b"Content-Length: " + b"9" * digits)
    refused(live, head, b"413")
    assert answer_body(live, head)["error"] == "payload_too_large"
