"""The reference server in-process (EmbeddedServer): the benchmark's target, and the server the
client scenarios run."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

from conformance.clients.board import Account, LiveClock, server_info
from conformance.clock import MovableClock
from conformance.profile import profile_from_dict
from conformance.session import Target
from reference_server.core.passwords import LIGHT, PRODUCTION, Passwords
from reference_server.embedded import EmbeddedServer
from reference_server.hashing import HashingPool


class CountedPasswords(Passwords):
    """The server's password hasher (given to its constructor, as any hasher is), counting the
    hashes and verifications it makes: the benchmark reads how many each case caused."""

    def __init__(self, light: bool = False) -> None:
        self.count = 0
        self._lock = threading.Lock()
        super().__init__(**(LIGHT if light else PRODUCTION))

    def _counted(self) -> None:
        with self._lock:
            self.count += 1

    def hash(self, password: str) -> str:
        self._counted()
        return super().hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        self._counted()
        return super().verify(stored, password)

    def seconds_per_verify(self, at_once: int = 1, rounds: int = 4) -> float:
        """Wall seconds per verification, `at_once` side by side, through a hashing pool like
        the server's (its threads, its priority): the same-run baseline of a hash's cost."""
        pool = HashingPool()

        async def batch() -> None:
            await asyncio.gather(*(pool.run(self.verify, None, "baseline") for _ in range(at_once)))

        try:
            asyncio.run(batch())  # warm: the pool's threads, argon2's memory
            started = time.perf_counter()
            for _ in range(rounds):
                asyncio.run(batch())
            return (time.perf_counter() - started) / (rounds * at_once)
        finally:
            pool.shutdown()


@contextlib.contextmanager
def embedded_target(passwords: Passwords | None = None) -> Iterator[Target]:
    """The production profile on a fake clock, hashing with `passwords` (default: production)."""
    hasher = {"passwords": passwords} if passwords is not None else {}
    server = EmbeddedServer(profile="production", tls=True, idle_timeout=1.0, **hasher)
    try:
        server.start()
        clock = MovableClock(server.clock.now, server.clock.advance)

        def restart() -> None:
            server.restart()

        yield Target(
            profile=profile_from_dict(server.target_profile()),
            restart=restart,
            clock=clock,
            idle_limit_s=4.0,
        )
    finally:
        server.close()


class ReferenceBoard:
    """`reference_server.embedded.EmbeddedServer` in the test profile, served by the harness."""

    def __init__(self, accounts: int = 1) -> None:
        self.clock = LiveClock()
        self._server = EmbeddedServer(profile="test", accounts=accounts, clock=self.clock)
        self.app = self._server.app
        self.accounts = [
            Account(a["username"], a["password"], a["totp_secret"])
            for a in self._server.target_profile()["accounts"]
        ]
        info = server_info(self.app)
        self.challenge_ttl_s = int(info["challenge_ttl_s"])
        self.session_ttl_s = int(info["session_ttl_s"])
        self.lockout_s = int(info["lockout"]["duration_s"])

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def close(self) -> None:
        self._server.close()
