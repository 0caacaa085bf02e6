"""Mutants: the protocol with exactly one rule broken each, and the requirement that must catch it.

Each mutant is run with `--only` the requirements that should fail (and a few neighbours), so the
whole set stays within a minute or two. The broken server comes from `FakeServer(Rules(...))`,
the suite's own double; the same table is meant for the reference server's EmbeddedServer seams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Mutant:
    name: str
    rules: dict[str, Any]
    fails: str  # the requirement whose case must fail
    only: tuple[str, ...] = ()  # run these (fails is always included)
    server: dict[str, Any] = field(default_factory=dict)

    @property
    def selection(self) -> list[str]:
        return sorted({self.fails, *self.only})


MUTANTS = [
    Mutant("wider drift window (±2 steps)", {"skew_steps": 2}, "TOTP-3"),
    Mutant("narrower drift window (±0 steps)", {"skew_steps": 0}, "TOTP-2"),
    Mutant("replay allowed", {"replay_check": False}, "TOTP-4"),
    Mutant("no lockout", {"lockout": False}, "LOCK-1", ("LOCK-2",)),
    Mutant("lockout after 6 failures", {"max_failures": 6}, "LOCK-1"),
    Mutant("TOTP failures not counted", {"count_totp_failures": False}, "LOCK-1"),
    Mutant("no Retry-After header", {"retry_after_header": False}, "LOCK-2"),
    Mutant("a right password resets the counter", {"password_resets_counter": True}, "LOCK-4"),
    Mutant("enumeration by status (404 for unknown)", {"unknown_user_status": 404}, "LOGIN-3"),
    Mutant(
        "enumeration by lockout (unknown never locked)", {"lock_unknown_users": False}, "LOGIN-3"
    ),
    Mutant("challenge reusable", {"challenge_single_use": False}, "CHAL-2"),
    Mutant("challenges never expire", {"challenge_expires": False}, "CHAL-3"),
    Mutant("sessions never expire", {"session_expires": False}, "SESS-4"),
    Mutant("logout does not revoke", {"logout_revokes": False}, "SESS-5"),
    Mutant("no WWW-Authenticate", {"www_authenticate": False}, "SESS-3"),
    Mutant("short tokens (8 bytes)", {"token_bytes": 8}, "SESS-1", ("CHAL-1",)),
    Mutant("short challenge tokens (8 bytes)", {"token_bytes": 8}, "CHAL-1"),
    Mutant("wrong HMAC (SHA256)", {"hmac_digest": "sha256"}, "TOTP-1", ("TOTP-2",)),
    Mutant("500 on bad JSON", {"crash_on_bad_json": True}, "INPUT-1", ("INPUT-5",)),
    Mutant("no body limit", {"body_limit": None}, "INPUT-2"),
    Mutant("malformed codes counted", {"count_malformed_codes": True}, "TOTP-5"),
    Mutant("Unicode digits accepted", {"accept_unicode_digits": True}, "TOTP-5"),
    Mutant("no Cache-Control: no-store", {"no_store": False}, "SESS-1"),
    Mutant("lock extended by attempts", {"attempts_extend_lock": True}, "LOCK-3"),
    Mutant("no escalation", {"escalation": False}, "LOCK-7"),
    Mutant("lock state lost on restart", {"lock_survives_restart": False}, "LOCK-6"),
]
