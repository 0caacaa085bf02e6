"""The run's clock and TOTP-step scheduler: when a wait is allowed, and which code to send when.

Each account accepts one new TOTP step at a time (TOTP-4) out of T-1..T+1, and a code is only
sent at a safe distance from a step boundary, so that the target and the suite agree on T.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from conformance import oracle
from conformance.accounts import Account
from conformance.clock import PERIOD, TargetClock, delay_until_step, margin_for, safe_delay
from conformance.timing import EXPIRY_WAIT, STEP_WAIT, timed

MAX_UNLONG_WAIT_S = 60.0
LOGIN_BUDGET_S = 2.0  # a login's round trip, kept clear of the next step boundary


def not_run(reason: str) -> NoReturn:
    """Report the case as not run, with the reason: never a silent pass."""
    pytest.skip(f"not run: {reason}")


class Scheduler:
    """Mixed into `Conformance`: waits on the target's clock and picks TOTP steps."""

    clock: TargetClock | None
    long: bool
    backup_codes_work: bool | None
    info: dict[str, Any]

    @property
    def profile_name(self) -> str:
        return str(self.info.get("profile", "?"))

    @property
    def now(self) -> float:
        assert self.clock is not None
        return self.clock.now()

    def may_wait(self, seconds: float) -> bool:
        assert self.clock is not None
        return self.clock.movable or self.long or seconds <= MAX_UNLONG_WAIT_S

    def require_wait(self, seconds: float, what: str) -> None:
        if not self.may_wait(seconds):
            not_run(
                f"{what} needs a real wait of {seconds:.0f} s on a '{self.profile_name}' target; "
                "run with --long (or against a test-profile target)"
            )

    def wait(self, seconds: float, category: str = EXPIRY_WAIT) -> None:
        assert self.clock is not None
        with timed(category):
            self.clock.wait(seconds)

    def wait_until(self, when: float) -> None:
        self.wait(when - self.now)

    def safe_now(self) -> float:
        """Wait to a point at least a safe margin from a step boundary; return target time."""
        assert self.clock is not None
        self.wait(safe_delay(self.clock.now(), margin_for(self.clock)), STEP_WAIT)
        return self.clock.now()

    def next_code(self, account: Account, offset: int | None = None) -> tuple[str, int]:
        """A code the target must accept now: the smallest step in T-1..T+1 after the last one.

        With `offset`, the code of step T+offset regardless of history (for window cases).
        """
        assert self.clock is not None
        while True:
            t = self.safe_now()
            step = oracle.step_of(t)
            last = account.last_step
            if offset is not None:
                wanted = step + offset
                if last is None or wanted > last:
                    return oracle.code_at_step(account.secret, wanted), wanted
                current = last + 1 - offset
            else:
                low = step - 1 if last is None else max(step - 1, last + 1)
                if low <= step + 1:
                    return oracle.code_at_step(account.secret, low), low
                current = low - 1
            # Every usable step is spent (TOTP-4): wait until step `current` has begun
            # (at most three steps: always allowed, even without --long).
            self.wait(delay_until_step(t, current, margin_for(self.clock)), STEP_WAIT)

    def factors_at_hand(self, account: Account) -> int:
        """Second factors the account offers without a wait: unused steps and backup codes."""
        codes = len(account.spare_backup_codes()) if self.backup_codes_work else 0
        return account.unused_steps(oracle.step_of(self.now)) + codes

    def step_usable_now(self, account: Account) -> bool:
        """Whether `ready` would return at once: an unused step, and a boundary far enough."""
        position = self.now % PERIOD
        margin = margin_for(self.clock) if self.clock is not None else 0.0
        safe = margin <= position <= PERIOD - margin - LOGIN_BUDGET_S
        return safe and account.unused_steps(oracle.step_of(self.now)) > 0

    def ready(self, account: Account, budget_s: float = LOGIN_BUDGET_S) -> None:
        """Wait (before a challenge exists, so that it cannot expire meanwhile) until a fresh
        step is usable and the next boundary is at least `budget_s` away."""
        assert self.clock is not None
        while True:
            self.next_code(account)
            margin = margin_for(self.clock)
            position = self.now % PERIOD
            if position <= PERIOD - margin - budget_s:
                return
            self.wait(PERIOD - position + margin, STEP_WAIT)

    def lasts(self, seconds: float) -> bool:
        """Whether `seconds` from now stay inside the current step, clear of its boundary."""
        assert self.clock is not None
        return self.now % PERIOD + seconds <= PERIOD - margin_for(self.clock)
