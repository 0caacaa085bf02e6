"""The fake board on the wall clock, as a `conformance.clients` Board (until the reference
server's EmbeddedServer is available, and to keep the harness's own tests independent of it)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pyotp

from client.tests.fake_board import FakeBoard


class LiveFakeBoard(FakeBoard):
    """`now` follows time.time(); setting it (board.now += s) moves the board's clock."""

    skew: float = 0.0

    @property  # type: ignore[override]
    def now(self) -> float:
        return time.time() + self.skew

    @now.setter
    def now(self, value: float) -> None:
        self.skew = value - time.time()


class FakeReference:
    """What conformance.clients.board.Board asks of a server."""

    def __init__(self) -> None:
        from conformance.clients.board import Account

        self.fake = LiveFakeBoard(now=time.time(), lock_s=5, challenge_ttl_s=5, session_ttl_s=5)
        self.app: Any = self.fake.asgi
        password, secret = secrets.token_urlsafe(12), pyotp.random_base32()
        self.fake.add("conformance-1", password, secret)
        self.accounts = [Account("conformance-1", password, secret)]
        self.challenge_ttl_s = self.fake.challenge_ttl_s
        self.session_ttl_s = self.fake.session_ttl_s
        self.lockout_s = self.fake.lock_s

    def advance(self, seconds: float) -> None:
        self.fake.now += seconds

    def close(self) -> None:
        pass
