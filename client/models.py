"""What the client hands back: a challenge, a session, the server's facts.

Tokens are kept out of `repr` so that a logged or printed object never shows one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Challenge:
    """LOGIN-1: proof of the first factor, to be completed by verify before it expires."""

    token: str = field(repr=False)
    username: str
    expires_in: int
    #: Local monotonic time when it was issued (for `expires_at_monotonic`).
    received_at: float

    @property
    def expires_at_monotonic(self) -> float:
        return self.received_at + self.expires_in


@dataclass(frozen=True)
class Session:
    """SESS-1: a Bearer token that opens the dashboard until it expires or is revoked."""

    token: str = field(repr=False)
    username: str
    token_type: str
    expires_in: int
    received_at: float

    @property
    def authorization(self) -> str:
        """The `Authorization` header value (RFC 6750 §2.1)."""
        return f"Bearer {self.token}"


@dataclass(frozen=True)
class ServerInfo:
    """INFO-1: the server's policy and clock, with the offset measured from here."""

    api_version: str
    server_time: int
    time_synced: bool
    profile: str
    totp: dict[str, Any]
    lockout: dict[str, Any]
    session_ttl_s: int
    challenge_ttl_s: int
    #: Server time minus local time, seconds, measured from `server_time` over the round trip.
    clock_offset: float
    #: The same measured from the `Date` header (None when missing or unreadable).
    date_offset: float | None
    server: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
