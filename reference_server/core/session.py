"""Session tokens: Bearer, valid while now < issued_at + ttl, revoked by logout (SESS-1..5)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Session:
    username: str
    issued_at: float
    revoked: bool = False


@dataclass
class SessionPolicy:
    ttl_s: int = 3600

    def expires_at(self, session: Session) -> float:
        return session.issued_at + self.ttl_s

    def is_valid(self, session: Session | None, now: float) -> bool:
        if session is None or session.revoked:
            return False
        return now < self.expires_at(session)

    def wire_times(self, session: Session) -> dict[str, int]:
        """Integer Unix seconds for the dashboard; expires_at rounds up so it is never early."""
        return {
            "issued_at": int(session.issued_at),
            "expires_at": math.ceil(self.expires_at(session)),
        }
