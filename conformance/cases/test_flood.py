"""INPUT-6 and INPUT-7: a login flood and trickling connections must not starve other clients.

Both are bounded (INPUT-6: 64 connections for 5 s; INPUT-7: 8 tricklers for at most 15 s), talk
only to the target's host and port, try only fresh unknown names, and note the load they applied
and the latency they saw (the load itself: conformance/load.py).

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from conformance import RUNS_ALONE, requirement
from conformance.attack import (
    info_of,
    latencies,
    other_address,
    require,
    source_addresses,
    throttle_of,
)
from conformance.load import (
    FLOOD_CONNECTIONS,
    PROBE_LIMIT_S,
    TRICKLE_EVERY_S,
    TRICKLERS,
    Flood,
    Probe,
    Tricklers,
    probe,
)
from conformance.session import not_run
from conformance.timing import RAW_SOCKET, timed

FLOOD_ADDRESS_FIRST = 100  # 127.0.0.100-163: one source per flood connection, on loopback
MEDIAN_FLOOR_S = 2.0  # the probes' median in the login flood: max(this, 3 x in the refused one)
BASELINE_PROBES = 4
# Cheap requests (DECISIONS: they never wait for the hashing pool): the dashboard with a token
# that no session has is looked up like a real one, without needing an account.
PROBES = (("/api/info", 200, False), ("/api/dashboard", 401, True))
HOLD_S = 15.0  # the tricklers' longest hold
SETTLE_S = 1.0  # tricklers are in place before the other client comes
PROBE_PAUSE_S = 0.25  # between the other client's requests


def _latencies(probes: list[Probe]) -> str:
    """The other client's waits, for a note."""
    return latencies([p.seconds for p in probes])


def _during(flood: Flood, base_url: str, verify: Any, hooks: Any) -> list[Probe]:
    """The other client's cheap requests, one after another, while the flood runs."""
    during: list[Probe] = []
    flood.start()
    try:
        while flood.running():
            during.append(probe(base_url, verify, *PROBES[len(during) % len(PROBES)], hooks=hooks))
            time.sleep(PROBE_PAUSE_S)
    finally:
        flood.join()
    return during


@requirement(
    "INPUT-6", "a login flood must not stop other clients from being served", needs=(RUNS_ALONE,)
)
def test_INPUT_6_login_flood_does_not_starve_others(api, conformance, notes):
    """Two floods of 64 connections for 5 s each while one client asks cheap questions
    (`GET /api/info`, `GET /api/dashboard` with a token no session has) on new connections, one
    after another: first a refused flood (logins with an empty username, 400 before any
    hashing: what any 64 connections cost the others), then the login flood (wrong passwords
    for fresh names). Fails when one of the cheap requests during the login flood is not
    answered within 10 s, when their median exceeds max(2 s, 3 x their median during the
    refused flood) (the logins' hashing costs the others more than the connections do), when the
    refused flood gets anything but 400, 429 or 503 `busy` (it must not be hashed), when a flood
    login gets anything but 401, 429 (a per-address throttle, LOCK-8) or a well-formed 503
    `busy` with Retry-After, or when a flood login that was sent gets no answer within 10 s
    (queued without bound; a connection the target does not accept is not counted). A 503
    `busy` is what a saturated server should say, never a failure.

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
    refused = Flood(base_url, verify, sources, refused=True)
    cheap = _during(refused, base_url, verify, hooks)
    flood = Flood(base_url, verify, sources)
    during = _during(flood, base_url, verify, hooks)
    after = probe(base_url, verify, *PROBES[0], hooks=hooks)
    if throttle is not None:
        conformance.wait(throttle.window_s)
    cheap_median = statistics.median(p.seconds for p in cheap)
    median = statistics.median(p.seconds for p in during)
    limit = max(MEDIAN_FLOOR_S, 3 * cheap_median)
    notes.append(refused.summary())
    notes.append(flood.summary())
    notes.append(
        f"floods from {sources[0]}-{sources[-1].rsplit('.', 1)[1]}, one address per connection"
        if sources
        else "floods from the suite's own address (the target is not on loopback)"
    )
    notes.append(
        f"another client, on new connections: alone {_latencies(baseline)}; during the refused "
        f"flood {_latencies(cheap)}; during the login flood {_latencies(during)} (median "
        f"allowed {limit:.2f} s); after it {after.seconds:.2f} s"
    )
    if throttle is not None:
        notes.append(f"then waited {throttle.window_s} s, the throttle window (LOCK-8)")
    require(
        not refused.wrong,
        "logins with an empty username, the yardstick, were not refused 400 before hashing: "
        + "; ".join(refused.wrong),
    )
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
            f"over max({MEDIAN_FLOOR_S:.0f} s, 3 x {cheap_median:.2f} s during a refused flood of "
            "the same shape): logins starve cheap requests (is the hashing bounded, and apart "
            "from what serves others?)"
        ),
    )


@requirement(
    "INPUT-7", "tricklers at one address must not keep another waiting", needs=(RUNS_ALONE,)
)
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
    hooks = api.recorder.hooks(own_address=False)
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
