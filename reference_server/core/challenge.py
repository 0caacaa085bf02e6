"""Challenge tokens: issued after the password, bound to one account, single-use, short-lived
(CHAL-1..4)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Challenge:
    username: str
    issued_at: float
    used: bool = False


@dataclass
class ChallengePolicy:
    ttl_s: int = 120

    def is_usable(self, challenge: Challenge | None, now: float) -> bool:
        if challenge is None or challenge.used:
            return False
        return now < challenge.issued_at + self.ttl_s
