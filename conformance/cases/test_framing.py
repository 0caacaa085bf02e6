"""INPUT-8: HTTP/1.1 framing (RFC 9112), sent on raw connections since no HTTP client sends it.

Each request below breaks one framing rule; spec/DECISIONS.md ("Floods, fairness and framing")
names the answers accepted for each. None of them can change state: they ask for
`/api/info`, log out without a token, or verify a challenge that does not exist.

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import re
import secrets
import ssl
import time
from dataclasses import dataclass

from conformance import requirement
from conformance.attack import require
from conformance.rawsock import connect, exchange, host_header, status_of
from conformance.timing import RAW_SOCKET, timed

ANSWER_S = 8.0  # how long a refused request may take to be answered or closed
AFTER_S = 2.0  # how long the suite watches a connection after its answer
_RESPONSE_START = re.compile(rb"HTTP/1\.[01] [0-9]{3}")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@dataclass(frozen=True)
class Framing:
    rule: str
    data: bytes
    allowed: frozenset[int]  # statuses that keep the rule
    may_close: bool = False  # a connection closed without an answer keeps it too
    must_close: bool = False  # the connection must close after the answer (no smuggling)


def framings(host: str) -> list[Framing]:
    head = f"Host: {host}\r\n".encode()
    info = b"GET /api/info HTTP/1.1\r\n" + head
    body = (
        b'{"challenge_token": "framing-' + secrets.token_hex(8).encode() + b'", '
        b'"totp_code": "000000"}'
    )
    n = str(len(body))

    def verify_with(length: str, content: bytes = body) -> bytes:
        return (
            b"POST /api/auth/verify HTTP/1.1\r\n" + head + b"Content-Type: application/json\r\n"
            b"Content-Length: " + length.encode() + b"\r\n\r\n" + content
        )

    versions = [
        Framing(f"version HTTP/{v} -> 505 or 400 (or close)",
                info.replace(b"HTTP/1.1", b"HTTP/" + v.encode(), 1) + b"\r\n",
                frozenset({400, 505}), may_close=True)
        for v in ("2.0", "9.9")
    ]  # fmt: skip
    controls = [
        Framing(f"{what} in a header value -> 400 (or close)",
                info + b"X-Framing: a" + char + b"b\r\n\r\n", frozenset({400}), may_close=True)
        for what, char in (("NUL", b"\x00"), ("bare CR", b"\r"), ("bare LF", b"\n"))
    ]  # fmt: skip
    lengths = [
        Framing(f"Content-Length {value!r} (not ^[0-9]+$) -> 400", verify_with(value),
                frozenset({400}))
        for value in (f"+{n}", f"{n[0]}_{n[1:]}", f"0x{int(n):x}", n.translate(ARABIC_INDIC),
                      "-1")
    ]  # fmt: skip
    huge = [
        Framing(f"Content-Length of {len(value)} digits (over the body limit) -> 413",
                verify_with(value, b""), frozenset({413}))
        for value in ("9" * 20, "1" + "0" * 99)
    ]  # fmt: skip
    both = Framing(
        "Content-Length and Transfer-Encoding -> an answer (400, or one answer) and close",
        b"POST /api/auth/logout HTTP/1.1\r\n" + head + b"Content-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + info + b"\r\n",
        frozenset(range(400, 500)) | frozenset(range(200, 300)),
        must_close=True,
    )
    return [both, *versions, *controls, *lengths, *huge]


def _watch(sock, seconds: float) -> tuple[bytes, bool]:
    """What else arrives within `seconds`, and whether the target closed the connection."""
    sock.settimeout(0.2)
    extra = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ssl.SSLWantReadError):
            continue
        except OSError:
            return extra, True
        if not chunk:
            return extra, True
        extra += chunk
    return extra, False


def judge(framing: Framing, received: bytes, ending: str, closed: bool) -> str | None:
    """Why the answer breaks the rule, or None."""
    status = status_of(received)
    answers = len(_RESPONSE_START.findall(received))
    if status is None:
        if ending == "timeout":
            return f"no answer within {ANSWER_S:.0f} s, and the connection stayed open"
        return None if framing.may_close else f"no answer (connection {ending})"
    if status not in framing.allowed:
        return f"answered {status}"
    if framing.must_close and answers > 1:
        return "a request sent after it on the same connection was served (request smuggling)"
    if framing.must_close and not closed:
        return f"the connection stayed open {AFTER_S:.0f} s after the answer"
    return None


@requirement("INPUT-8", "ambiguous or malformed framing is refused, never guessed")
def test_INPUT_8_http_framing(api, conformance, notes):
    """Each framing rule of spec/DECISIONS.md on its own new connection; all are tried and every
    broken one is named. Then `GET /api/info` on a new connection must still answer 200."""
    base_url, verify = conformance.target.base_url, conformance.verify
    broken: list[str] = []
    for framing in framings(host_header(base_url)):
        sock = connect(base_url, verify)
        try:
            with timed(RAW_SOCKET):
                received, ending = exchange(sock, framing.data, timeout=ANSWER_S)
                closed = ending != "answered"
                if framing.must_close and not closed:
                    extra, closed = _watch(sock, AFTER_S)
                    received += extra
        finally:
            sock.close()
        api.recorder.raw("RAW", f"{base_url} ({framing.rule})", framing.data, received, ending)
        why = judge(framing, received, ending, closed)
        if why is not None:
            broken.append(f"{framing.rule}: {why}")
    response = api.info()
    notes.append(f"{len(framings('x'))} framing requests, each on a new connection")
    require(not broken, "framing rules broken: " + "; ".join(broken))
    require(
        response.status_code == 200,
        (
            f"after the framing requests, GET /api/info on a new connection answered "
            f"{response.status_code}"
        ),
    )
