"""The whole lockout rule: counting failures, the lock, its end, and escalation (LOCK-1..4, LOCK-7).

Pure: takes a ThrottleState and the time, returns the next state. An attempt during a lock and a
right password alone change nothing (LOCK-3, LOCK-4), so neither has a method here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ThrottleState:
    failures: int = 0
    locked_until: float = 0.0
    lock_count: int = 0  # locks since the last successful verify (LOCK-7)


@dataclass
class Lockout:
    duration_s: int = 300
    max_failures: int = 5
    escalation: str | None = "double"
    cap_s: int = 86400

    def lock_duration(self, lock_count: int) -> float:
        """The k-th lock since the last success lasts duration * 2**(k-1), capped (LOCK-7)."""
        if self.escalation != "double" or lock_count <= 1:
            return float(self.duration_s)
        return float(min(self.duration_s * 2 ** min(lock_count - 1, 32), self.cap_s))

    def current(self, state: ThrottleState, now: float) -> ThrottleState:
        """A lock that has ended leaves a zero counter (LOCK-3); the escalation level stays."""
        if state.locked_until and now >= state.locked_until:
            return replace(state, failures=0, locked_until=0.0)
        return state

    def is_locked(self, state: ThrottleState, now: float) -> bool:
        return now < state.locked_until

    def retry_after(self, state: ThrottleState, now: float) -> int:
        return max(1, math.ceil(state.locked_until - now))

    def fail(self, state: ThrottleState, now: float) -> ThrottleState:
        """One judged failure; the max-th starts the lock (and is itself answered 401)."""
        failures = state.failures + 1
        if failures < self.max_failures:
            return replace(state, failures=failures)
        lock_count = state.lock_count + 1
        return ThrottleState(
            failures=0, locked_until=now + self.lock_duration(lock_count), lock_count=lock_count
        )

    def succeed(self, state: ThrottleState) -> ThrottleState:
        """A successful verify resets the counter and the escalation level."""
        return ThrottleState()
