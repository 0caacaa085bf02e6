"""What the attack cases share (INPUT-6/7/8, LOCK-8, the LOGIN-3 churn): fresh unknown names, the
source addresses the suite can speak from, clients bound to them, and the target's throttle.

These cases never touch the profile's accounts: every name they try is new, so what they leave
behind (locked unknown names, an address's failures) stands in no other case's way once the
address's throttle window has passed.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import secrets
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.api import KEEPALIVE, body_of
from conformance.timing import LOGIN, timed

OTHER_ADDRESS_FIRST = 2  # 127.0.0.2: "another address" on a loopback target (DECISIONS, INPUT-7)
SPARE_ADDRESS_FIRST = 10  # 127.0.0.10 ...: sources to spread a churn under a per-address throttle
MAX_BUSY_RETRIES = 5  # a 503 busy is "try again after N s", never a verdict (INPUT-6)


def require(condition: bool, message: str) -> None:
    """Fail the case with `message` alone (a plain `assert` would add pytest's own rendering)."""
    if not condition:
        raise AssertionError(message)


def fresh_name(kind: str) -> str:
    """A username no target has: 12 random hex digits after what the case uses it for."""
    return f"{kind}-{secrets.token_hex(6)}"


def loopback_v4(base_url: str) -> bool:
    """Whether the target is on IPv4 loopback, where any 127/8 source address can reach it."""
    host = str(urlsplit(base_url).hostname)
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def source_addresses(base_url: str, count: int, first: int) -> list[str]:
    """`count` loopback source addresses from 127.0.0.`first`, or none off loopback."""
    if not loopback_v4(base_url):
        return []
    return [f"127.0.0.{first + i}" for i in range(count)]


def other_address(base_url: str) -> str | None:
    found = source_addresses(base_url, 1, OTHER_ADDRESS_FIRST)
    return found[0] if found else None


def client(
    base_url: str,
    verify: Any,
    local_address: str | None = None,
    hooks: dict[str, list[Any]] | None = None,
    timeout: float = 15.0,
) -> httpx.Client:
    """An httpx client, from `local_address` when given (a client at another address)."""
    if verify is True:
        verify = _default_context()  # made once: loading the CA bundle takes ~50 ms
    return httpx.Client(
        base_url=base_url,
        transport=httpx.HTTPTransport(verify=verify, local_address=local_address, limits=KEEPALIVE),
        timeout=timeout,
        event_hooks=hooks or {},
    )


@functools.cache
def _default_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@dataclass(frozen=True)
class Throttle:
    """LOCK-8 as /api/info states it: `max_failures` within `window_s` per source address."""

    max_failures: int
    window_s: int


def throttle_of(info: Any) -> Throttle | None:
    found = info.get("throttle") if isinstance(info, dict) else None
    if not isinstance(found, dict):
        return None
    limit, window = found.get("max_failures"), found.get("window_s")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (limit, window)):
        return None
    return Throttle(int(limit), int(window))


def info_of(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/api/info")
    info = body_of(response)
    assert response.status_code == 200 and isinstance(info, dict), (
        f"GET /api/info answered {response.status_code}: {response.text[:200]}"
    )
    return info


def busy_retry_after(response: httpx.Response) -> int | None:
    """Retry-After of a well-formed 503 `busy` (INPUT-6), else None."""
    body = body_of(response)
    if response.status_code != 503 or not isinstance(body, dict) or body.get("error") != "busy":
        return None
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isdigit() and int(value) >= 1 else None


def judged_login(http: httpx.Client, username: str) -> httpx.Response:
    """A wrong-password login that the target judges: a 503 `busy` is waited out (in real time:
    it is about the target's load, not its clock) and sent again, a bounded number of times;
    any other answer is returned. Its time is the target's hashing (the benchmark's categories)."""
    with timed(LOGIN):
        for _ in range(MAX_BUSY_RETRIES):
            response = http.post(
                "/api/auth/login", json={"username": username, "password": "wrong-" + username}
            )
            retry = busy_retry_after(response)
            if retry is None:
                return response
            time.sleep(min(retry, 10))
        return response


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 when there are no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latencies(seconds: list[float]) -> str:
    """`n requests, p50 x s, max y s` for a report note."""
    if not seconds:
        return "no requests"
    return (
        f"{len(seconds)} requests, p50 {percentile(seconds, 0.5):.2f} s, max {max(seconds):.2f} s"
    )
