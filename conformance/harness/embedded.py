"""The reference server in-process (EmbeddedServer): the benchmark's target, and the server the
client scenarios run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from conformance.clients.board import Account, LiveClock, server_info
from conformance.clock import MovableClock
from conformance.profile import profile_from_dict
from conformance.session import Target
from reference_server.core.passwords import Passwords
from reference_server.embedded import EmbeddedServer


@contextlib.contextmanager
def embedded_target(light: bool = False) -> Iterator[Target]:
    hasher = {"passwords": Passwords.for_profile("test")} if light else {}
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
