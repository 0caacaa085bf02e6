"""STORE-2: TOTP secrets are sealed at rest with a key kept in a file apart from the database
(as Authelia's storage encryption key): AES-256-GCM, the username as associated data, so a sealed
secret copied onto another account's row does not open.

The key file is one line, 32 random bytes in URL-safe base64, created 0600 (STORE-1). A database
without its key file has no usable TOTP secrets: back the key up apart from the database.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = "aesgcm1$"  # the prefix of a sealed secret; a row without it is plain (migrated at open)
KEY_BYTES = 32
NONCE_BYTES = 12


class SecretKeyError(Exception):
    """A key file that is missing, malformed, or does not open the database's secrets."""


def default_key_path(db_path: str) -> str:
    """Beside the database: `reference_server.db` -> `reference_server.db.key`."""
    return db_path + ".key"


class SecretKey:
    def __init__(self, key: bytes, path: str | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"a secret key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self.path = path

    @classmethod
    def ephemeral(cls) -> SecretKey:
        """For a database in memory: nothing is at rest, nothing to keep."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def create(cls, path: str) -> SecretKey:
        """A new key file, 0600 from its creation; refuses to overwrite one."""
        key = secrets.token_bytes(KEY_BYTES)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise SecretKeyError(f"{path} exists already; not overwriting a key") from None
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(base64.urlsafe_b64encode(key).decode("ascii") + "\n")
            f.flush()
            os.fsync(f.fileno())
        return cls(key, path)

    @classmethod
    def load(cls, path: str) -> SecretKey:
        try:
            text = Path(path).read_text(encoding="ascii").strip()
            key = base64.urlsafe_b64decode(text.encode("ascii"))
        except FileNotFoundError:
            raise SecretKeyError(f"no secret key file {path}") from None
        except (UnicodeDecodeError, binascii.Error, ValueError):
            raise SecretKeyError(f"{path} is not a secret key file") from None
        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"{path} is not a secret key file ({KEY_BYTES} bytes)")
        with contextlib.suppress(OSError):
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)  # one copied with a looser mode
        return cls(key, path)

    @classmethod
    def load_or_create(cls, path: str) -> SecretKey:
        """`serve` on its first start makes the key; later starts read it."""
        if os.path.exists(path):
            return cls.load(path)
        return cls.create(path)

    def seal(self, username: str, secret: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode("ascii"), username.encode("utf-8"))
        return SEALED + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, username: str, stored: str) -> str:
        if not is_sealed(stored):
            return stored  # a plain row not migrated yet (Store migrates them when it opens)
        try:
            raw = base64.urlsafe_b64decode(stored[len(SEALED) :].encode("ascii"))
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], username.encode())
        except (InvalidTag, binascii.Error, ValueError):
            where = f" {self.path}" if self.path else ""
            raise SecretKeyError(
                f"the secret key{where} does not open the TOTP secret of {username!r}"
            ) from None
        return plain.decode("ascii")


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED)
