"""Opaque tokens and secrets from the CSPRNG (CHAL-1, SESS-1, TOTP-8), with the source injected."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenSource:
    """Tokens of 32 random bytes as URL-safe base64 without padding (43 chars), and TOTP keys."""

    TOKEN_BYTES = 32
    SECRET_BYTES = 20
    random_bytes: Callable[[int], bytes] = field(default=secrets.token_bytes)

    def token(self) -> str:
        raw = self.random_bytes(self.TOKEN_BYTES)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def secret(self) -> bytes:
        """A TOTP key: 160 bits (RFC 4226 §4 recommends it; TOTP-8 asks at least 128)."""
        return self.random_bytes(self.SECRET_BYTES)


def token_digest(token: str) -> str:
    """What the store keeps of a token: a lookup by SHA-256 does not leak a prefix by timing,
    and a stolen database holds no usable token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
