"""Backup codes (SESS-6): single-use, shown once, stored as salted SHA-256.

The codes carry 50 random bits each, so a fast salted hash is enough; the lockout limits guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed by hand
LENGTH = 10


def generate(count: int = 10) -> list[str]:
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize(code: str) -> str:
    """DECISIONS: compared after removing spaces and '-' and lower-casing."""
    return code.replace(" ", "").replace("-", "").lower()


def hash_code(code: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.sha256(salt + normalize(code).encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256${salt.hex()}${digest}"


def matches(stored: str, code: str) -> bool:
    try:
        _, salt_hex, _ = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return hmac.compare_digest(hash_code(code, salt), stored)
