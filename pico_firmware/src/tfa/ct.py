"""Constant-time equality for codes and tokens (TOTP-6): no early exit on a mismatch."""


def equal(a, b):
    """True if a == b; time depends only on len(a), the value we hold, never on b's content."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    diff = len(a) ^ len(b)
    if diff:
        b = a
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
