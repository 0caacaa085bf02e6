"""RFC 4226 HOTP and RFC 6238 TOTP, and the drift window with replay protection (TOTP-1..4).

Written with hmac/hashlib so the reference does not lean on the suite's oracle (pyotp).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
COUNTER_LIMIT = 2**64


def hotp(key: bytes, counter: int, digits: int = 6, algorithm: str = "SHA1") -> str:
    """RFC 4226 §5.3: HMAC over the 8-byte big-endian counter, dynamic truncation, mod 10^digits."""
    if not 0 <= counter < COUNTER_LIMIT:
        raise ValueError("the HOTP counter is an unsigned 64-bit integer")
    mac = hmac.new(key, counter.to_bytes(8, "big"), ALGORITHMS[algorithm.upper()]).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def step_at(t: float, period: int = 30, t0: int = 0) -> int:
    """RFC 6238 §4.2: T = floor((Unix time - T0) / X)."""
    return int((t - t0) // period)


def totp(key: bytes, t: float, digits: int = 6, period: int = 30, algorithm: str = "SHA1") -> str:
    return hotp(key, step_at(t, period), digits, algorithm)


def decode_secret(secret: str) -> bytes:
    """A base32 secret as in an otpauth:// URI (case and padding forgiven)."""
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def encode_secret(key: bytes) -> str:
    return base64.b32encode(key).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class TotpPolicy:
    """What the server accepts: RFC 6238's parameters and the drift window."""

    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30
    skew_steps: int = 1

    def step(self, t: float) -> int:
        return step_at(t, self.period)

    def code(self, key: bytes, step: int) -> str:
        return hotp(key, step, self.digits, self.algorithm)

    def verify(self, key: bytes, code: str, t: float, last_step: int | None) -> int | None:
        """The matched step: the largest step in T-skew..T+skew above `last_step` whose code is
        `code`, or None. Every candidate is computed and compared in constant time (TOTP-6)."""
        now_step = self.step(t)
        given = code.encode("ascii", "replace")
        matched: int | None = None
        for step in range(now_step - self.skew_steps, now_step + self.skew_steps + 1):
            if step < 0:
                continue
            fresh = last_step is None or step > last_step  # TOTP-4: never a step twice
            equal = hmac.compare_digest(self.code(key, step).encode("ascii"), given)
            if equal and fresh:
                matched = step
        return matched


def verify(
    key: bytes,
    code: str,
    t: float,
    last_step: int | None = None,
    *,
    skew_steps: int = 1,
    digits: int = 6,
    period: int = 30,
    algorithm: str = "SHA1",
) -> int | None:
    """The matched step of `code` at time `t` (see TotpPolicy.verify), or None."""
    policy = TotpPolicy(algorithm=algorithm, digits=digits, period=period, skew_steps=skew_steps)
    return policy.verify(key, code, t, last_step)
