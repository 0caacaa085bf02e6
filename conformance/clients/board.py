"""The server the scenarios run: the reference server in-process, behind the recording layer.

Only what the scenarios need is asked of it (a `Board`): its ASGI app, its test accounts, its
durations, and a way to move its clock (challenge and session expiry without waiting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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


class ReferenceBoard:
    """`reference_server.embedded.EmbeddedServer` in the test profile, served by the harness."""

    def __init__(self, accounts: int = 2) -> None:
        from reference_server.embedded import EmbeddedServer

        self._server = EmbeddedServer(profile="test", accounts=accounts, tls=False)
        self.app = self._server.app
        profile = self._server.target_profile()
        self.accounts = [
            Account(a["username"], a["password"], a["totp_secret"]) for a in profile["accounts"]
        ]
        info = _info(self._server)
        self.challenge_ttl_s = int(info["challenge_ttl_s"])
        self.session_ttl_s = int(info["session_ttl_s"])
        self.lockout_s = int(info["lockout"]["duration_s"])

    def advance(self, seconds: float) -> None:
        self._server.clock.advance(seconds)

    def close(self) -> None:
        close = getattr(self._server, "close", None) or getattr(self._server, "stop", None)
        if close is not None:
            close()


def _info(server: Any) -> dict[str, Any]:
    """The server's policy, asked of the app itself (no socket needed)."""
    import asyncio

    import httpx

    async def ask() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://board") as http:
            return (await http.get("/api/info")).json()

    return asyncio.run(ask())
