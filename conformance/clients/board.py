"""The server the scenarios run: the reference server in-process, behind the recording layer.

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


class ReferenceBoard:
    """`reference_server.embedded.EmbeddedServer` in the test profile, served by the harness."""

    def __init__(self, accounts: int = 1) -> None:
        from reference_server.embedded import EmbeddedServer

        self.clock = LiveClock()
        self._server = EmbeddedServer(profile="test", accounts=accounts, clock=self.clock)
        self.app = self._server.app
        self.accounts = [
            Account(a["username"], a["password"], a["totp_secret"])
            for a in self._server.target_profile()["accounts"]
        ]
        info = _info(self.app)
        self.challenge_ttl_s = int(info["challenge_ttl_s"])
        self.session_ttl_s = int(info["session_ttl_s"])
        self.lockout_s = int(info["lockout"]["duration_s"])

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def close(self) -> None:
        self._server.close()


def _info(app: Any) -> dict[str, Any]:
    """The server's policy, asked of the app itself (no socket needed)."""

    async def ask() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://board") as http:
            return (await http.get("/api/info")).json()

    return asyncio.run(ask())
