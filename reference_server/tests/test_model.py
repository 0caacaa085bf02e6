# ruff: noqa: S105, S106 - test credentials
"""A stateful model of DECISIONS.md's login/verify/lockout rules, run by hypothesis against the
Authenticator and its store: any sequence of right and wrong passwords, right, wrong and replayed
codes and clock moves gets exactly the answers the written rules give."""

from __future__ import annotations

import math

import pyotp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from reference_server.auth import ChallengeIssued, Locked, Refused, SessionIssued
from reference_server.core.clock import FakeClock
from reference_server.embedded import EmbeddedServer

from .conftest import FAST_PASSWORDS, START

LOCKOUT, CHALLENGE_TTL, CAP = 300, 120, 86400


class Rules(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.clock = FakeClock(START)
        # one account's rules; the per-address limit (LOCK-8) is tested in test_throttle.py
        self.server = EmbeddedServer(
            profile="production",
            accounts=1,
            clock=self.clock,
            passwords=FAST_PASSWORDS,
            throttle="off",
        )
        self.account = self.server.accounts[0]
        self.auth = self.server.auth
        self.failures = 0
        self.locked_until = 0.0
        self.locks = 0
        self.last_step: int | None = None
        self.challenge: tuple[str, float] | None = None
        self.used: set[str] = set()

    def teardown(self):
        if hasattr(self, "server"):
            self.server.close()

    # the written rules
    def now(self) -> float:
        return self.clock.now()

    def settle(self) -> None:
        if self.locked_until and self.now() >= self.locked_until:
            self.failures, self.locked_until = 0, 0.0

    def locked(self) -> bool:
        self.settle()
        return self.now() < self.locked_until

    def fail(self) -> None:
        self.failures += 1
        if self.failures >= 5:
            self.locks += 1
            self.locked_until = self.now() + min(LOCKOUT * 2 ** (self.locks - 1), CAP)
            self.failures = 0

    def expect_locked(self, result) -> None:
        assert isinstance(result, Locked), result
        assert result.retry_after == max(1, math.ceil(self.locked_until - self.now()))

    # the actions
    @rule(seconds=st.sampled_from([1, 7, 29, 31, 61, 119, 121, 299, 301, 601, 1300, 90000]))
    def advance(self, seconds):
        self.clock.advance(seconds)

    @rule(right=st.booleans())
    def login(self, right):
        password = self.account.password if right else "wrong"
        result = self.auth.login(self.account.username, password, "192.0.2.1")
        if self.locked():
            self.expect_locked(result)
        elif right:
            assert isinstance(result, ChallengeIssued), result
            self.challenge = (result.challenge_token, self.now())
        else:
            assert result == Refused("invalid_credentials")
            self.fail()

    @rule(kind=st.sampled_from(["right", "wrong", "next", "previous"]))
    def verify(self, kind):
        if self.challenge is None:
            return
        token, issued = self.challenge
        step = int(self.now() // 30) + {"right": 0, "wrong": 0, "next": 1, "previous": -1}[kind]
        code = pyotp.TOTP(self.account.totp_secret).at(step * 30)
        if kind == "wrong":
            code = f"{(int(code) + 1) % 10**6:06d}"
        result = self.auth.verify(token, totp_code=code, source="192.0.2.1")
        if token in self.used or self.now() >= issued + CHALLENGE_TTL:
            assert result == Refused("invalid_challenge"), result
            return
        if self.locked():
            self.expect_locked(result)
            return
        window = {
            s for s in range(int(self.now() // 30) - 1, int(self.now() // 30) + 2)
            if pyotp.TOTP(self.account.totp_secret).at(s * 30) == code
        }  # fmt: skip
        fresh = {s for s in window if self.last_step is None or s > self.last_step}
        if fresh:
            assert isinstance(result, SessionIssued), result
            self.last_step = max(fresh)
            self.failures, self.locks = 0, 0
            self.used.add(token)
        else:
            assert result == Refused("invalid_code"), result
            self.fail()

    @rule(kind=st.sampled_from(["right", "next", "previous"]))
    def login_and_verify(self, kind):
        """The common path, so that runs reach replays and escalations often."""
        self.login(True)
        self.verify(kind)

    @rule()
    def five_wrong_passwords(self):
        """A lock in one move, so that runs reach the second and third locks (LOCK-7)."""
        for _ in range(5):
            self.login(False)

    @invariant()
    def stored_state_matches(self):
        if not hasattr(self, "server"):
            return
        with self.server.store.transaction() as tx:
            state = self.auth.lockout.current(tx.throttle(self.account.username), self.now())
        self.settle()
        assert (state.failures, state.locked_until, state.lock_count) == (
            self.failures,
            self.locked_until,
            self.locks,
        )


Rules.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
test_LOCK_rules_model = Rules.TestCase
