"""RFC 4226 HOTP and RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s, T0 = 0, 64-bit counter)."""

import hashlib

from micropython import const

from tfa import ct
from tfa.hmac_sha1 import hmac

_PERIOD = const(30)
_DIGITS = const(6)
_SKEW = const(1)


def hotp(secret, counter, digits=_DIGITS, algo=hashlib.sha1):
    mac = hmac(secret, counter.to_bytes(8, "big"), algo)
    off = mac[-1] & 0x0F
    n = (mac[off] & 0x7F) << 24 | mac[off + 1] << 16 | mac[off + 2] << 8 | mac[off + 3]
    s = str(n % 10**digits)
    return "0" * (digits - len(s)) + s


def step(t, period=_PERIOD):
    return int(t) // period


def totp(secret, t, digits=_DIGITS, algo=hashlib.sha1, period=_PERIOD):
    return hotp(secret, step(t, period), digits, algo)


def match(secret, code, t, last_step=-1, skew=_SKEW):
    """The largest step in T-skew..T+skew after last_step whose code equals `code`, else None.

    Every candidate step is computed and compared in constant time, so the answer's timing
    says nothing about which step matched or whether the code was replayed (TOTP-4).
    """
    now = step(t)
    found = None
    for s in range(now - skew, now + skew + 1):
        if s < 0:
            continue
        ok = ct.equal(hotp(secret, s), code)
        if ok and s > last_step:
            found = s
    return found
