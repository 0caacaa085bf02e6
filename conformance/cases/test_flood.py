"""INPUT-6 and INPUT-7: a login flood and trickling connections must not starve other clients.

Both are bounded (INPUT-6: 64 connections for 5 s; INPUT-7: 8 tricklers for at most 15 s), talk
only to the target's host and port, try only fresh unknown names, and note the load they applied
and the latency they saw.
"""

from __future__ import annotations

import contextlib
import secrets
import ssl
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance import requirement, runs_alone
from conformance.attack import (
    busy_retry_after,
    client,
    fresh_name,
    info_of,
    latencies,
    other_address,
    require,
    source_addresses,
    throttle_of,
)
from conformance.rawsock import address, connect, host_header, is_closed
from conformance.session import not_run
from conformance.timing import RAW_SOCKET, timed

# 64: more than a thread-pool framework's default workers (Starlette/anyio: 40), where logins
# that hash in the pool that serves everyone starve the rest (32 left the reference server's
# 40 threads room to answer, while its logins queued 7-9 s).
FLOOD_CONNECTIONS = 64
FLOOD_S = 5.0
FLOOD_ADDRESS_FIRST = 100  # 127.0.0.100-163: one source per flood connection, on loopback
PROBE_LIMIT_S = 10.0  # a client answered later than this was not served (INPUT-7's bound)
MEDIAN_FLOOR_S = 2.0  # the probes' median during the flood may reach max(this, 3 x baseline)
BASELINE_PROBES = 4
# Cheap requests (DECISIONS: they never wait for the hashing pool): the dashboard with a token
# that no session has is looked up like a real one, without needing an account.
PROBES = (("/api/info", 200, False), ("/api/dashboard", 401, True))
TRICKLERS = 8
HOLD_S = 15.0
TRICKLE_EVERY_S = 1.0  # one byte per second: slow, but never silent
SETTLE_S = 1.0  # tricklers are in place before the other client comes
PROBE_PAUSE_S = 0.25  # between the other client's requests


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
    Connection i comes from `sources[i]` where there are sources (else the suite's address)."""

    base_url: str
    verify: Any
    sources: list[str] = field(default_factory=list)
    connections: int = FLOOD_CONNECTIONS
    seconds: float = FLOOD_S
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
                name = fresh_name("flood")
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

    @staticmethod
    def _judge(response: httpx.Response) -> str | None:
        status = response.status_code
        if status == 503 and busy_retry_after(response) is None:
            return f"503 without `busy` and an integer Retry-After >= 1: {response.text[:120]}"
        if status not in (401, 429, 503):
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
        return (
            f"flood: {self.connections} connections for {self.seconds:.0f} s posting wrong "
            f"passwords for fresh names, answered {counts}; {latencies(self.answer_times)}"
        )


def _latencies(probes: list[Probe]) -> str:
    """The other client's waits, for a note."""
    return latencies([p.seconds for p in probes])


@runs_alone
@requirement("INPUT-6", "MUST", "a login flood must not stop other clients from being served")
def test_INPUT_6_login_flood_does_not_starve_others(api, conformance, notes):
    """64 connections post wrong-password logins for fresh names for 5 s while one client asks
    cheap questions (`GET /api/info`, `GET /api/dashboard` with a token no session has) on new
    connections,
    one after another. Fails when one of those is not answered within 10 s, when their median
    during the flood exceeds max(2 s, 3 x their median before it), when a flood login gets
    anything but 401, 429 (a per-address throttle, LOCK-8) or a well-formed 503 `busy` with
    Retry-After, or when a flood login that was sent gets no answer within 10 s (queued without
    bound; a connection the target does not accept is not counted). A 503 `busy` is what a
    saturated server should say, never a failure.

    On a loopback target each flood connection has its own source address (127.0.0.100-163):
    "any names, one or many source addresses", and a per-address throttle (LOCK-8) neither turns
    the flood into cheap 429s nor touches the suite's own address. Off loopback the flood comes
    from the suite's address: where /api/info shows a `throttle`, the case then waits out
    `throttle.window_s` afterwards so that later cases start clean, and is not run when that
    wait is not allowed (a production target without --long)."""
    base_url, verify = conformance.target.base_url, conformance.verify
    sources = source_addresses(base_url, FLOOD_CONNECTIONS, FLOOD_ADDRESS_FIRST)
    throttle = None if sources else throttle_of(info_of(api.client))
    if throttle is not None:
        conformance.require_wait(throttle.window_s, "INPUT-6 (then the throttle window)")
    hooks = api.recorder.hooks()
    baseline = [
        probe(base_url, verify, *PROBES[i % len(PROBES)], hooks=hooks)
        for i in range(BASELINE_PROBES)
    ]
    flood = Flood(base_url, verify, sources)
    flood.start()
    during: list[Probe] = []
    try:
        while flood.running():
            during.append(probe(base_url, verify, *PROBES[len(during) % len(PROBES)], hooks=hooks))
            time.sleep(PROBE_PAUSE_S)
    finally:
        flood.join()
    after = probe(base_url, verify, *PROBES[0], hooks=hooks)
    if throttle is not None:
        conformance.wait(throttle.window_s)
    base_median = statistics.median(p.seconds for p in baseline)
    median = statistics.median(p.seconds for p in during)
    limit = max(MEDIAN_FLOOR_S, 3 * base_median)
    notes.append(flood.summary())
    notes.append(
        f"flood from {sources[0]}-{sources[-1].rsplit('.', 1)[1]}, one address per connection"
        if sources
        else "flood from the suite's own address (the target is not on loopback)"
    )
    notes.append(
        f"another client, on new connections: before the flood {_latencies(baseline)}; during "
        f"it {_latencies(during)} (median allowed {limit:.2f} s); after it {after.seconds:.2f} s"
    )
    if throttle is not None:
        notes.append(f"then waited {throttle.window_s} s, the throttle window (LOCK-8)")
    require(
        not flood.wrong,
        "flood logins got answers INPUT-6 does not allow: " + "; ".join(flood.wrong),
    )
    require(
        not flood.queued,
        (
            f"{flood.queued} flood logins were sent and not answered within {PROBE_LIMIT_S:.0f} s: "
            "a saturated server answers 503 busy with Retry-After instead of queueing logins"
        ),
    )
    starved = [p for p in (*during, after) if not p.served]
    require(
        not starved,
        (
            f"during a login flood ({FLOOD_CONNECTIONS} connections) another client was not "
            f"served: {', '.join(f'{p.path} {p.outcome} ({p.seconds:.1f} s)' for p in starved)}"
        ),
    )
    require(
        median <= limit,
        (
            f"during a login flood another client waited {median:.2f} s (median of {len(during)}), "
            f"over max({MEDIAN_FLOOR_S:.0f} s, 3 x {base_median:.2f} s before the flood): logins "
            "starve cheap requests (is the hashing bounded, and apart from what serves others?)"
        ),
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


@runs_alone
@requirement("INPUT-7", "SHOULD", "tricklers at one address must not keep another waiting")
def test_INPUT_7_tricklers_do_not_hold_another_address(api, conformance, notes):
    """8 connections from the suite's address trickle one byte a second (re-opened when the
    target drops them) for at most 15 s; meanwhile a client at another address (127.0.0.2 on a
    loopback target) asks `GET /api/info` on new connections, one after another, each timed from
    its connect to its complete answer. A warning (SHOULD) when one is not answered within 10 s.
    Off loopback the suite has no second address: not run."""
    base_url, verify = conformance.target.base_url, conformance.verify
    other = other_address(base_url)
    if other is None:
        not_run(
            f"INPUT-7 needs a client at a second source address; the target {base_url} is not "
            "on loopback, where the suite could use 127.0.0.2"
        )
    tricklers = Tricklers(base_url, verify)
    hooks = api.recorder.hooks()
    waits: list[Probe] = []
    started = time.monotonic()
    tricklers.start()
    try:
        with timed(RAW_SOCKET):
            time.sleep(SETTLE_S)
            while not waits or time.monotonic() - started < HOLD_S - PROBE_LIMIT_S:
                waits.append(
                    probe(base_url, verify, "/api/info", 200, local_address=other, hooks=hooks)
                )
                if not waits[-1].served:
                    break
                time.sleep(PROBE_PAUSE_S)
    finally:
        tricklers.stop()
    held = time.monotonic() - started
    after = probe(base_url, verify, "/api/info", 200, local_address=other, hooks=hooks)
    notes.append(
        f"{TRICKLERS} tricklers at the suite's address for {held:.1f} s (one byte per "
        f"{TRICKLE_EVERY_S:.0f} s; {tricklers.opened} connections opened, {tricklers.dropped} "
        f"dropped by the target); a client at {other}, on new connections: {_latencies(waits)}; "
        f"after them {after.seconds:.2f} s"
    )
    late = [p for p in waits if not p.served]
    if late:
        raise AssertionError(
            f"with {TRICKLERS} tricklers at one address, a client at {other} waited "
            f"{late[0].seconds:.1f} s: {late[0].outcome} (allowed {PROBE_LIMIT_S:.0f} s)"
        )
    require(after.served, f"after the tricklers left, a client was {after.outcome}")
