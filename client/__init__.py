"""Python client of the two-factor login protocol (password, then an RFC 6238 code).

from client import AuthClient
with AuthClient("https://192.168.1.50", ca_cert="board.pem") as board:
    session = board.authenticate("alice", password, totp_secret=secret)
    print(board.dashboard(session))
"""

from client.auth import AuthClient
from client.clock import ClockSkewWarning
from client.errors import (
    AccountLocked,
    AuthError,
    ChallengeExpired,
    ClientError,
    ClockNotSynced,
    InvalidCode,
    InvalidCredentials,
    NetworkError,
    PinMismatch,
    ProtocolError,
    ServerBusy,
    SessionExpired,
    TLSError,
    TransportError,
)
from client.models import Challenge, ServerInfo, Session

__all__ = [
    "AccountLocked",
    "AuthClient",
    "AuthError",
    "Challenge",
    "ChallengeExpired",
    "ClientError",
    "ClockNotSynced",
    "ServerBusy",
    "ClockSkewWarning",
    "InvalidCode",
    "InvalidCredentials",
    "NetworkError",
    "PinMismatch",
    "ProtocolError",
    "ServerInfo",
    "Session",
    "SessionExpired",
    "TLSError",
    "TransportError",
]
