"""RFC 6238 codes through pyotp, with the protocol's fixed parameters (TOTP-1)."""

from __future__ import annotations

import binascii
import re
import warnings

import pyotp

PERIOD_S = 30
DIGITS = 6
CODE_PATTERN = re.compile(r"[0-9]{6}")
ENROLLED_BITS = 128  # TOTP-8: what a server of the protocol enrols


class AppTOTP(pyotp.TOTP):
    """An authenticator app's reading: any base32 secret makes codes. pyotp's 112-bit floor is for
    servers choosing secrets; the servers here enrol 128+ bits (TOTP-8) and keep refusing less."""

    min_secret_length_bits = 8


def _totp(secret: str) -> pyotp.TOTP:
    """A TOTP for a base32 secret as people copy it (spaces, dashes, lower case allowed)."""
    cleaned = re.sub(r"[\s-]", "", secret).upper().rstrip("=")
    cleaned += "=" * (-len(cleaned) % 8)
    try:
        return AppTOTP(cleaned, digits=DIGITS, interval=PERIOD_S)
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
    """Raise ValueError now, before any request is sent, if the secret cannot make codes; warn
    if it is shorter than a server of the protocol would enrol."""
    bits = len(_totp(secret).byte_secret()) * 8
    if bits < ENROLLED_BITS:
        warnings.warn(
            f"the secret has {bits} bits: servers of this protocol enrol {ENROLLED_BITS} or more",
            stacklevel=2,
        )
