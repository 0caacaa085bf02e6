"""The target's time as the suite sees it, and when it is safe to send a TOTP code.

A live target is read through `server_time` (integer seconds): the offset is measured at the
edge where that integer ticks over, so it is known to a fraction of a second. A target that can
move its clock (the reference server in-process) is read and moved directly, so production
durations of minutes cost nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

PERIOD = 30
SAFE_MARGIN_S = 2.0


class TargetClock(Protocol):
    movable: bool
    uncertainty: float

    def now(self) -> float:
        """The target's time (Unix seconds) as well as the suite knows it."""

    def wait(self, seconds: float) -> None:
        """Let `seconds` pass on the target."""


@dataclass(frozen=True)
class Sample:
    """One `/api/info` answer: the server's integer time and when we sent and received it."""

    server_time: int
    sent: float
    received: float


@dataclass(frozen=True)
class Offset:
    offset: float
    uncertainty: float


def offset_from_samples(samples: Sequence[Sample]) -> Offset:
    """Target time minus local time, from consecutive samples; sharpest where server_time ticks."""
    if not samples:
        raise ValueError("no samples")
    best: Offset | None = None
    for before, after in zip(samples, samples[1:], strict=False):
        if after.server_time == before.server_time + 1:
            # The tick to after.server_time happened between before.sent and after.received.
            low, high = before.sent, after.received
            edge = (low + high) / 2
            candidate = Offset(after.server_time - edge, (high - low) / 2)
            if best is None or candidate.uncertainty < best.uncertainty:
                best = candidate
    if best is not None:
        return best
    # No tick seen: the server time is somewhere in [t, t+1) during the round trip.
    last = samples[-1]
    mid = (last.sent + last.received) / 2
    return Offset(last.server_time + 0.5 - mid, 0.5 + (last.received - last.sent) / 2)


def measure_offset(fetch: Callable[[], int], budget_s: float = 1.3) -> Offset:
    """Poll the server's integer time until it ticks over (at most `budget_s`)."""
    samples: list[Sample] = []
    deadline = time.monotonic() + budget_s
    while True:
        sent = time.time()
        server_time = fetch()
        samples.append(Sample(server_time, sent, time.time()))
        if len(samples) > 1 and samples[-1].server_time != samples[-2].server_time:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.04)
    return offset_from_samples(samples)


class LiveClock:
    """A target whose clock we can only read: waiting is sleeping."""

    movable = False

    def __init__(self, offset: Offset, sleep: Callable[[float], None] = time.sleep) -> None:
        self.offset = offset.offset
        self.uncertainty = offset.uncertainty
        self._sleep = sleep

    def now(self) -> float:
        return time.time() + self.offset

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)


class MovableClock:
    """A target whose clock the suite moves (EmbeddedServer): waiting is advancing."""

    movable = True
    uncertainty = 0.0

    def __init__(self, now: Callable[[], float], advance: Callable[[float], None]) -> None:
        self._now = now
        self._advance = advance

    def now(self) -> float:
        return float(self._now())

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self._advance(seconds)


def safe_delay(t: float, margin: float = SAFE_MARGIN_S, period: int = PERIOD) -> float:
    """Seconds from target time `t` until it is at least `margin` away from a step boundary."""
    if margin * 2 >= period:
        raise ValueError("margin leaves no safe point in a step")
    position = t % period
    if position < margin:
        return margin - position
    if position > period - margin:
        return period - position + margin
    return 0.0


def delay_until_step(t: float, step: int, margin: float = SAFE_MARGIN_S) -> float:
    """Seconds from `t` until step `step` has begun and is `margin` old (0 if already so)."""
    start = step * PERIOD + margin
    return max(0.0, start - t)


def margin_for(clock: TargetClock) -> float:
    return SAFE_MARGIN_S + clock.uncertainty


def wait_for_safe_point(clock: TargetClock) -> float:
    """Wait (or advance) to a safe point; return the target time then."""
    clock.wait(safe_delay(clock.now(), margin_for(clock)))
    return clock.now()


def ceil_seconds(x: float) -> int:
    return max(1, math.ceil(x))
