"""SQLite store (WAL). Every decision that reads and changes a counter runs in ONE
`BEGIN IMMEDIATE` transaction, so concurrent requests, threads and processes cannot race past the
lockout (LOCK-5) or accept one code twice (TOTP-4); everything persists across restarts (LOCK-6).
The file is 0600 (STORE-1) and TOTP secrets are sealed with a key kept apart (STORE-2).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from reference_server.core.challenge import Challenge
from reference_server.core.lockout import ThrottleState
from reference_server.core.session import Session
from reference_server.store.secret_key import (
    SEALED,
    SecretKey,
    SecretKeyError,
    default_key_path,
    is_sealed,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    last_step INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS throttle (
    username TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until REAL NOT NULL,
    lock_count INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS challenges (
    digest TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    issued_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    issued_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS backup_codes (
    username TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS backup_codes_user ON backup_codes(username);
CREATE TABLE IF NOT EXISTS address_failures (
    source TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS address_failures_source ON address_failures(source, at);
"""

# Throttle rows of names nobody tried for this long (and not locked) are pruned; two days is
# longer than the longest lock (24 h), so pruning never ends a lock early.
STALE_AFTER_S = 2 * 86400


@dataclass(frozen=True)
class Account:
    username: str
    password_hash: str
    totp_secret: str
    last_step: int | None


class Tx:
    """The operations of one transaction; TOTP secrets are sealed and opened here, so the rest
    of the server only ever sees them plain."""

    def __init__(self, conn: sqlite3.Connection, key: SecretKey) -> None:
        self.conn = conn
        self.key = key

    # accounts
    def account(self, username: str) -> Account | None:
        row = self.conn.execute(
            "SELECT username, password_hash, totp_secret, last_step FROM accounts WHERE username=?",
            (username,),
        ).fetchone()
        if row is None:
            return None
        username, password_hash, sealed, last_step = row
        return Account(username, password_hash, self.key.open(username, sealed), last_step)

    def usernames(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT username FROM accounts ORDER BY username")]

    def put_account(self, account: Account, now: float) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?, ?)",
            (
                account.username,
                account.password_hash,
                self.key.seal(account.username, account.totp_secret),
                account.last_step,
                now,
            ),
        )

    def reseal_secrets(self, new_key: SecretKey, *, only_plain: bool = False) -> int:
        """Every secret opened with this key (which fails on a wrong key) and sealed with
        new_key; `only_plain` rewrites only the rows still plain. Returns the rows rewritten."""
        rows = self.conn.execute("SELECT username, totp_secret FROM accounts").fetchall()
        rewritten = 0
        for username, stored in rows:
            plain = self.key.open(username, stored)
            if only_plain and is_sealed(stored):
                continue
            self.conn.execute(
                "UPDATE accounts SET totp_secret=? WHERE username=?",
                (new_key.seal(username, plain), username),
            )
            rewritten += 1
        return rewritten

    def delete_account(self, username: str) -> bool:
        cur = self.conn.execute("DELETE FROM accounts WHERE username=?", (username,))
        self.conn.execute("DELETE FROM backup_codes WHERE username=?", (username,))
        self.conn.execute("DELETE FROM challenges WHERE username=?", (username,))
        self.conn.execute("DELETE FROM sessions WHERE username=?", (username,))
        return cur.rowcount > 0

    def set_last_step(self, username: str, step: int) -> None:
        self.conn.execute("UPDATE accounts SET last_step=? WHERE username=?", (step, username))

    # throttle (real and unknown names alike, LOGIN-3)
    def throttle(self, username: str) -> ThrottleState:
        row = self.conn.execute(
            "SELECT failures, locked_until, lock_count FROM throttle WHERE username=?", (username,)
        ).fetchone()
        return ThrottleState(*row) if row else ThrottleState()

    def put_throttle(self, username: str, state: ThrottleState, now: float) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO throttle VALUES (?, ?, ?, ?, ?)",
            (username, state.failures, state.locked_until, state.lock_count, now),
        )

    def clear_throttle(self, username: str) -> None:
        self.conn.execute("DELETE FROM throttle WHERE username=?", (username,))

    def prune(self, now: float, challenge_ttl_s: float, session_ttl_s: float) -> None:
        self.conn.execute(
            "DELETE FROM throttle WHERE updated_at < ? AND locked_until < ?",
            (now - STALE_AFTER_S, now),
        )
        self.conn.execute(
            "DELETE FROM challenges WHERE issued_at < ?", (now - challenge_ttl_s - STALE_AFTER_S,)
        )
        self.conn.execute(
            "DELETE FROM sessions WHERE issued_at < ?", (now - session_ttl_s - STALE_AFTER_S,)
        )

    # per-address failures (LOCK-8): one row per failure, dropped once out of the window
    def address_failures(self, source: str, since: float) -> list[float]:
        rows = self.conn.execute(
            "SELECT at FROM address_failures WHERE source=? AND at>? ORDER BY at", (source, since)
        )
        return [r[0] for r in rows]

    def add_address_failure(self, source: str, now: float, since: float) -> None:
        self.conn.execute("DELETE FROM address_failures WHERE source=? AND at<=?", (source, since))
        self.conn.execute("INSERT INTO address_failures VALUES (?, ?)", (source, now))

    def prune_address_failures(self, since: float) -> None:
        self.conn.execute("DELETE FROM address_failures WHERE at<=?", (since,))

    # challenges
    def add_challenge(self, digest: str, username: str, now: float) -> None:
        self.conn.execute(
            "INSERT INTO challenges (digest, username, issued_at) VALUES (?, ?, ?)",
            (digest, username, now),
        )

    def challenge(self, digest: str) -> Challenge | None:
        row = self.conn.execute(
            "SELECT username, issued_at, used FROM challenges WHERE digest=?", (digest,)
        ).fetchone()
        return Challenge(row[0], row[1], bool(row[2])) if row else None

    def use_challenge(self, digest: str) -> None:
        self.conn.execute("UPDATE challenges SET used=1 WHERE digest=?", (digest,))

    # sessions
    def add_session(self, digest: str, username: str, now: float) -> None:
        self.conn.execute(
            "INSERT INTO sessions (digest, username, issued_at) VALUES (?, ?, ?)",
            (digest, username, now),
        )

    def session(self, digest: str) -> Session | None:
        row = self.conn.execute(
            "SELECT username, issued_at, revoked FROM sessions WHERE digest=?", (digest,)
        ).fetchone()
        return Session(row[0], row[1], bool(row[2])) if row else None

    def revoke_session(self, digest: str) -> None:
        self.conn.execute("UPDATE sessions SET revoked=1 WHERE digest=?", (digest,))

    # backup codes
    def backup_codes(self, username: str) -> list[tuple[int, str]]:
        return list(
            self.conn.execute(
                "SELECT rowid, code_hash FROM backup_codes WHERE username=? AND used=0",
                (username,),
            )
        )

    def add_backup_codes(self, username: str, hashes: list[str]) -> None:
        self.conn.execute("DELETE FROM backup_codes WHERE username=?", (username,))
        self.conn.executemany(
            "INSERT INTO backup_codes (username, code_hash) VALUES (?, ?)",
            [(username, h) for h in hashes],
        )

    def use_backup_code(self, rowid: int) -> None:
        self.conn.execute("UPDATE backup_codes SET used=1 WHERE rowid=?", (rowid,))


def create_private(path: str) -> None:
    """STORE-1: the database is created 0600 before SQLite opens it, and SQLite gives its -wal
    and -shm files the database's mode. A file left by an older version is tightened."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path + suffix).st_mode & 0o077:
                os.chmod(path + suffix, 0o600)


class Store:
    """One connection, serialized by a lock within the process and by `BEGIN IMMEDIATE` across
    processes. `path=":memory:"` keeps everything in RAM (nothing survives a restart).

    `key` seals the TOTP secrets (default: the key file beside the database, made on first use).
    Opening checks that the key opens every secret and seals any plain one (an older database),
    in one transaction."""

    def __init__(self, path: str, key: SecretKey | str | None = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        if path != ":memory:":
            create_private(path)
        self.conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.execute("PRAGMA secure_delete=ON")  # a replaced plain secret leaves no trace
        try:
            self.conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA}; COMMIT;")
            self.key = self._secret_key(key)
            with self.transaction() as tx:
                tx.reseal_secrets(self.key, only_plain=True)  # migrates; fails on a wrong key
        except BaseException:
            self.conn.close()
            raise

    def _secret_key(self, key: SecretKey | str | None) -> SecretKey:
        """The given key, or the key file (given, or beside the database) read or made on first
        use; never made for a database that already holds sealed secrets (a missing key file
        is an error there, not a reason to start a new key)."""
        if isinstance(key, SecretKey):
            return key
        if key is None and self.path == ":memory:":
            return SecretKey.ephemeral()
        key_path = key or default_key_path(self.path)
        if os.path.exists(key_path):
            return SecretKey.load(key_path)
        sealed = self.conn.execute(
            "SELECT count(*) FROM accounts WHERE substr(totp_secret, 1, ?) = ?",
            (len(SEALED), SEALED),
        ).fetchone()[0]
        if sealed:
            raise SecretKeyError(
                f"{self.path} holds sealed TOTP secrets but there is no key file {key_path} "
                "(give --secret-key-file)"
            )
        return SecretKey.create(key_path)

    def rotate_key(self, new_key: SecretKey) -> int:
        """STORE-2: every secret resealed with new_key in one transaction (all or none)."""
        with self.transaction() as tx:
            count = tx.reseal_secrets(new_key)
        self.key = new_key
        return count

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self.conn, self.key)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self.conn.close()
