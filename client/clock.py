"""The server's clock as seen from here: TOTP codes are judged by server time (TOTP-2), so a
client that computes codes uses the offset it measured from `/api/info`, and tells its user when
the local clock alone would make codes fail."""

from __future__ import annotations

import email.utils

#: Beyond this a code computed from the local clock may fall outside the server's ±1 step window.
SKEW_WARNING_S = 15.0


class ClockSkewWarning(UserWarning):
    """The local clock differs from the server's enough to make locally computed codes fail."""


def offset_from_server_time(server_time: int, sent_at: float, received_at: float) -> float:
    """Server minus local time, in seconds.

    `server_time` is truncated to the second, so the server's true time lies in
    [server_time, server_time + 1); its middle is compared with the middle of the round trip.
    """
    return server_time + 0.5 - (sent_at + received_at) / 2


def offset_from_date(date_header: str | None, sent_at: float, received_at: float) -> float | None:
    """The same measure from the `Date` header (RFC 9110 IMF-fixdate), or None if unreadable."""
    if not date_header:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp() + 0.5 - (sent_at + received_at) / 2


def skew_warning(offset: float) -> str | None:
    """A sentence for the user when |offset| would make locally computed codes fail."""
    if abs(offset) <= SKEW_WARNING_S:
        return None
    direction = "behind" if offset > 0 else "ahead of"
    return (
        f"this machine's clock is {abs(offset):.0f} s {direction} the server's: codes computed "
        "from it would be refused (this client computes codes at the server's time)"
    )
