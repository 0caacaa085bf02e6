"""LOCK-8: failures counted per source address over a sliding window, across all names.

Pure: given the times of an address's recent failures and now, says whether it is throttled and
for how long (spec/DECISIONS.md "Per-address throttling").
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AddressThrottle:
    max_failures: int = 50
    window_s: int = 300

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window_s < 1:
            raise ValueError("a throttle needs max_failures >= 1 and window_s >= 1")

    def since(self, now: float) -> float:
        """Failures at or before this time have left the window."""
        return now - self.window_s

    def retry_after(self, failures: list[float], now: float) -> int | None:
        """None while the address may try; else whole seconds until the count drops below the
        limit (the failure that brings it down leaves the window), at least 1."""
        recent = sorted(t for t in failures if t > self.since(now))
        if len(recent) < self.max_failures:
            return None
        leaves_at = recent[len(recent) - self.max_failures] + self.window_s
        return max(1, math.ceil(leaves_at - now))

    def wire(self) -> dict[str, int]:
        return {"max_failures": self.max_failures, "window_s": self.window_s}
