"""Where a case's time goes: seconds per category (waits, argon2 logins, fuzzing, idle sockets).

The plugin gives each case a `Timings`; the flows and cases mark what they spend with
`timed(category)`, on whichever thread the case runs. Nested categories count exclusively (a
login inside an account reset is a login, not a reset), so a case's categories add up to at most
its duration; the rest is plain requests.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator

STEP_WAIT = "TOTP step wait"  # for a safe point or an unused step (TOTP-4)
EXPIRY_WAIT = "lockout/TTL wait"  # for a lock, a challenge or a session to end
ACCOUNT_WAIT = "account wait"  # for a free or unlocked test account
LOGIN = "login (password hash)"  # POST /api/auth/login: the target's slow hash
SCHEMATHESIS = "schemathesis"
RAW_SOCKET = "raw-socket idle"  # idle, trickling and garbage connections (INPUT-4/5)
RESTART = "restart"  # the target restarting (LOCK-6)
CATEGORIES = (STEP_WAIT, EXPIRY_WAIT, ACCOUNT_WAIT, LOGIN, SCHEMATHESIS, RAW_SOCKET, RESTART)


class Timings:
    """One case's seconds per category (thread-safe: a case may use several threads)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, category: str, seconds: float) -> None:
        with self._lock:
            self.spent[category] = self.spent.get(category, 0.0) + seconds

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {k: round(v, 4) for k, v in self.spent.items() if v > 0}


_CURRENT: contextvars.ContextVar[Timings | None] = contextvars.ContextVar("timings", default=None)
_OPEN: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("open", default=None)


@contextlib.contextmanager
def attributed(timings: Timings) -> Iterator[Timings]:
    """Charge what this thread spends from here on to `timings`."""
    token = _CURRENT.set(timings)
    open_token = _OPEN.set(None)
    try:
        yield timings
    finally:
        _OPEN.reset(open_token)
        _CURRENT.reset(token)


@contextlib.contextmanager
def timed(category: str) -> Iterator[None]:
    """Charge the time inside, minus any nested `timed`, to `category` of the current case."""
    timings = _CURRENT.get()
    if timings is None:
        yield
        return
    outer = _OPEN.get()
    inner: list[float] = [0.0]  # seconds charged by nested categories
    token = _OPEN.set(inner)
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        _OPEN.reset(token)
        timings.add(category, elapsed - inner[0])
        if outer is not None:
            outer[0] += elapsed
