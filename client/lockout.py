"""The client's side of LOCK-2: once a server says "locked for N seconds", no authentication
request for that account leaves this client until N seconds have passed."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from client.errors import AccountLocked


class LockoutGate:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._until: dict[str, float] = {}

    def hold(self, username: str, retry_after: int) -> None:
        """Remember a 429: the account is closed for `retry_after` seconds from now."""
        until = self._monotonic() + retry_after
        self._until[username] = max(until, self._until.get(username, 0.0))

    def remaining(self, username: str) -> int:
        """Whole seconds until requests for `username` may be sent again (0: now)."""
        until = self._until.get(username)
        if until is None:
            return 0
        left = until - self._monotonic()
        if left <= 0:
            del self._until[username]
            return 0
        return max(1, math.ceil(left))

    def check(self, username: str) -> None:
        """Raise AccountLocked, without sending anything, while the account is held."""
        left = self.remaining(username)
        if left:
            raise AccountLocked(left)
