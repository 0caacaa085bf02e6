"""RFC 6238 codes through pyotp, with the protocol's fixed parameters (TOTP-1)."""

from __future__ import annotations

import binascii
import re

import pyotp

PERIOD_S = 30
DIGITS = 6
CODE_PATTERN = re.compile(r"[0-9]{6}")


def _totp(secret: str) -> pyotp.TOTP:
    """A pyotp TOTP for a base32 secret as people copy it (spaces, dashes, lower case allowed)."""
    cleaned = re.sub(r"[\s-]", "", secret).upper().rstrip("=")
    cleaned += "=" * (-len(cleaned) % 8)
    try:
        # pyotp refuses secrets under 112 bits (NIST SP 800-63B); the contract asks for 128+.
        return pyotp.TOTP(cleaned, digits=DIGITS, interval=PERIOD_S)
    except binascii.Error:
        raise ValueError("the TOTP secret is not valid base32") from None
    except ValueError as exc:
        raise ValueError(f"the TOTP secret is not usable: {exc}") from None


def code_at(secret: str, unix_time: float) -> str:
    """The code for the step containing `unix_time` (pass the server's time, not the local one)."""
    return _totp(secret).at(int(unix_time))


def seconds_left(unix_time: float) -> int:
    """Seconds until the step containing `unix_time` ends (1..30)."""
    return PERIOD_S - int(unix_time) % PERIOD_S


def is_code(text: str) -> bool:
    """TOTP-5: exactly six ASCII digits (str.isdigit would accept other scripts' digits)."""
    return CODE_PATTERN.fullmatch(text) is not None


def check_secret(secret: str) -> None:
    """Raise ValueError now, before any request is sent, if the secret cannot make codes."""
    _totp(secret)
