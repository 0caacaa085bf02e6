"""The server the scenarios run, behind the recording layer (by default the reference server
in-process: conformance/harness/embedded.py).

Only what the scenarios need is asked of it (a `Board`): its ASGI app, its test accounts, its
durations, and a way to move its clock (challenge and session expiry without waiting).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    totp_secret: str


class Board(Protocol):
    app: Any
    accounts: list[Account]
    challenge_ttl_s: int
    session_ttl_s: int
    lockout_s: int

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward."""

    def close(self) -> None: ...


class LiveClock:
    """Wall-clock time that a scenario can move forward: a client that waits out a lockout
    sees it end, and an expiry is reached without waiting for it."""

    def __init__(self) -> None:
        self._skew = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._skew

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._skew += seconds


def server_info(app: Any) -> dict[str, Any]:
    """The server's policy, asked of the app itself (no socket needed)."""

    async def ask() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://board") as http:
            return (await http.get("/api/info")).json()

    return asyncio.run(ask())
