"""The load the attack cases apply (INPUT-6, INPUT-7): a login flood, trickling connections,
and the timed client that measures what the others see. Each is bounded in time and count and
talks only to the target's host and port.
"""

from __future__ import annotations

import contextlib
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.attack import busy_retry_after, client, fresh_name, latencies
from conformance.rawsock import address, connect, host_header, is_closed

# 64: more than a thread-pool framework's default workers (Starlette/anyio: 40), where logins
# that hash in the pool that serves everyone starve the rest (32 left the reference server's 40
# threads room to answer, while its logins queued 7-9 s).
FLOOD_CONNECTIONS = 64
FLOOD_S = 5.0
PROBE_LIMIT_S = 10.0  # a client answered later than this was not served (INPUT-7's bound)
TRICKLERS = 8
TRICKLE_EVERY_S = 1.0  # one byte per second: slow, but never silent


@dataclass
class Probe:
    path: str
    seconds: float
    outcome: str  # "served", or why not

    @property
    def served(self) -> bool:
        return self.outcome == "served"


def probe(
    base_url: str, verify: Any, path: str, status: int, token: bool = False, **kw: Any
) -> Probe:
    """One cheap request on a new connection, timed from connect to its complete answer."""
    headers = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"} if token else {}
    started = time.monotonic()
    try:
        with client(base_url, verify, timeout=PROBE_LIMIT_S, **kw) as http:
            response = http.get(path, headers=headers)
    except httpx.HTTPError as exc:
        return Probe(path, time.monotonic() - started, f"no answer ({type(exc).__name__})")
    seconds = time.monotonic() - started
    if response.status_code != status:
        return Probe(path, seconds, f"answered {response.status_code}, not {status}")
    if seconds > PROBE_LIMIT_S:
        return Probe(path, seconds, f"answered after {seconds:.1f} s")
    return Probe(path, seconds, "served")


@dataclass
class Flood:
    """`connections` threads, each posting wrong-password logins for fresh names back to back
    on a kept-alive connection until `seconds` have passed (an attempt in flight may finish).
    Connection i comes from `sources[i]` where there are sources (else the suite's address).
    `refused`: the same flood with an empty username, which a server refuses 400 before any
    hashing: what any flood of that many connections costs the others."""

    base_url: str
    verify: Any
    sources: list[str] = field(default_factory=list)
    connections: int = FLOOD_CONNECTIONS
    seconds: float = FLOOD_S
    refused: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    answer_times: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # answers INPUT-6 does not allow
    queued: int = 0  # logins sent and not answered within PROBE_LIMIT_S
    last_answer: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds
        for i in range(self.connections):
            source = self.sources[i % len(self.sources)] if self.sources else None
            thread = threading.Thread(target=self._flood, args=(source,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=PROBE_LIMIT_S + 5)

    def _flood(self, source: str | None) -> None:
        http = client(self.base_url, self.verify, source, timeout=PROBE_LIMIT_S)
        try:
            while self.running():
                name = "" if self.refused else fresh_name("flood")
                started = time.monotonic()
                try:
                    response = http.post(
                        "/api/auth/login", json={"username": name, "password": "flood"}
                    )
                except httpx.HTTPError as exc:
                    queued = isinstance(exc, httpx.ReadTimeout)
                    self._count(type(exc).__name__, started, queued=queued)
                    http.close()
                    http = client(self.base_url, self.verify, source, timeout=PROBE_LIMIT_S)
                    continue
                self._count(str(response.status_code), started, self._judge(response))
        finally:
            http.close()

    def _judge(self, response: httpx.Response) -> str | None:
        status = response.status_code
        if status == 503 and busy_retry_after(response) is None:
            return f"503 without `busy` and an integer Retry-After >= 1: {response.text[:120]}"
        if status not in ((400, 429, 503) if self.refused else (401, 429, 503)):
            return f"{status} {response.text[:120]}"
        return None

    def _count(
        self, key: str, started: float, wrong: str | None = None, queued: bool = False
    ) -> None:
        now = time.monotonic()
        with self._lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1
            self.queued += queued
            self.answer_times.append(now - started)
            self.last_answer = now
            if wrong is not None and len(self.wrong) < 3:
                self.wrong.append(wrong)

    def summary(self) -> str:
        counts = ", ".join(f"{n} x {k}" for k, n in sorted(self.statuses.items()))
        what = "empty usernames" if self.refused else "wrong passwords for fresh names"
        return (
            f"{'refused ' if self.refused else ''}flood: {self.connections} connections for "
            f"{self.seconds:.0f} s posting {what}, answered {counts}; "
            f"{latencies(self.answer_times)}"
        )


def _client_hello(host: str) -> bytes:
    """The first flight of a real TLS handshake, for a trickler to send one byte at a time."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=host)
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


class Tricklers:
    """`count` connections from the suite's own address that each send one byte a second of a
    request that never ends (over HTTPS: of a TLS ClientHello), re-opened when dropped."""

    def __init__(self, base_url: str, verify: Any, count: int = TRICKLERS) -> None:
        host, _, https = address(base_url)
        self.base_url, self.verify, self.count = base_url, verify, count
        self.data = (
            _client_hello(host)
            if https
            else f"GET /api/info HTTP/1.1\r\nHost: {host_header(base_url)}\r\nX-Slow: ".encode()
        )
        self.opened = self.dropped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _open(self) -> tuple[Any, int] | None:
        try:
            sock = connect(self.base_url, self.verify, tls=False)
            sock.sendall(self.data[:1])
        except OSError:
            return None
        self.opened += 1
        return sock, 1

    def _run(self) -> None:
        held: list[tuple[Any, int] | None] = [self._open() for _ in range(self.count)]
        next_byte = time.monotonic() + TRICKLE_EVERY_S
        while not self._stop.wait(0.1):
            send = time.monotonic() >= next_byte
            if send:
                next_byte += TRICKLE_EVERY_S
            for i, entry in enumerate(held):
                held[i] = self._keep(entry, send)
        for entry in held:
            if entry is not None:
                entry[0].close()

    def _keep(self, entry: tuple[Any, int] | None, send: bool) -> tuple[Any, int] | None:
        if entry is None:
            return self._open()
        sock, sent = entry
        try:
            if send:
                sock.sendall(self.data[sent : sent + 1] or b"x")
                sent += 1
            if not is_closed(sock, 0.001):
                return sock, sent
        except OSError:
            pass
        sock.close()
        self.dropped += 1
        return self._open()
