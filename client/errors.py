"""The client's exceptions: one class per outcome a caller may want to handle on its own.

Shaped like httpx's tree so that callers catch exactly what they mean: a wrong code is not a
network failure, and a lockout carries the seconds the caller must wait.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error this client raises."""


class AuthError(ClientError):
    """The server judged the attempt and refused it (the user can act on it)."""


class InvalidCredentials(AuthError):
    """401 `invalid_credentials`: wrong username or password (the server does not say which)."""


class InvalidCode(AuthError):
    """401 `invalid_code`: wrong, out-of-window or already used TOTP code (or backup code)."""


class ChallengeExpired(AuthError):
    """401 `invalid_challenge`: the challenge is expired, used or unknown; log in again."""


class SessionExpired(AuthError):
    """401 `invalid_token`: the session token is expired, revoked or unknown."""


class AccountLocked(AuthError):
    """429 `account_locked`: no authentication request may be sent for `retry_after` seconds."""

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message or f"account locked: try again in {retry_after} seconds")


class ClockNotSynced(ClientError):
    """503 `clock_not_synced`: the server's clock is not known to be right, so it judges no code."""


class ServerBusy(ClientError):
    """503 `busy` (INPUT-6): the server's password hashing is saturated; nothing was judged.

    The attempt counted for nothing: send it again after `retry_after` seconds.
    """

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message or f"the server is busy: try again in {retry_after} seconds")


class TransportError(ClientError):
    """The exchange did not complete."""


class NetworkError(TransportError):
    """Connection refused, reset or timed out."""


class TLSError(TransportError):
    """The server's certificate is not trusted (CA file, system store or pinned fingerprint)."""


class PinMismatch(TLSError):
    """The leaf certificate's SHA-256 fingerprint is not the pinned one."""


class ProtocolError(ClientError):
    """The server answered something the spec does not allow (status, body, headers)."""
