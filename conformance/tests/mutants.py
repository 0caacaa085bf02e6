"""Mutants: the reference server with exactly one rule broken each, and the requirement that must
catch it.

Each mutant is built through the seams `reference_server.embedded.EmbeddedServer` offers (keyword
arguments; nothing in reference_server/ is edited). Each runs with `--only` the requirement it
breaks (and a neighbour or two), so the whole set stays within a minute or two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _lockout_subclass(**methods: Any) -> type:
    from reference_server.core.lockout import Lockout

    return type("MutantLockout", (Lockout,), methods)


def password_resets_counter() -> dict[str, Any]:
    from reference_server.core.lockout import ThrottleState

    return {"lockout": _lockout_subclass(on_password_ok=lambda self, state: ThrottleState())}


def attempts_extend_lock() -> dict[str, Any]:
    from dataclasses import replace

    def on_locked_attempt(self: Any, state: Any, now: float) -> Any:
        return replace(state, locked_until=now + self.lock_duration(max(state.lock_count, 1)))

    return {"lockout": _lockout_subclass(on_locked_attempt=on_locked_attempt)}


def challenges_never_expire() -> dict[str, Any]:
    from reference_server.core.challenge import ChallengePolicy

    def is_usable(self: Any, challenge: Any, now: float) -> bool:
        return challenge is not None and not (challenge.used and self.single_use)

    return {"challenges": type("NeverExpires", (ChallengePolicy,), {"is_usable": is_usable})}


def sessions_never_expire() -> dict[str, Any]:
    from reference_server.core.session import SessionPolicy

    def is_valid(self: Any, session: Any, now: float) -> bool:
        return session is not None and not session.revoked

    return {"sessions": type("NeverExpires", (SessionPolicy,), {"is_valid": is_valid})}


def _authenticator(**attributes: Any) -> dict[str, Any]:
    from reference_server.auth import Authenticator

    return {"authenticator": type("MutantAuthenticator", (Authenticator,), attributes)}


def malformed_codes_counted() -> dict[str, Any]:
    from reference_server.core.tokens import token_digest

    def malformed_code(self: Any, challenge_token: str | None, source: str | None) -> None:
        now = self.clock.now()
        with self.store.transaction() as tx:
            challenge = tx.challenge(token_digest(challenge_token or ""))
            if challenge is None:
                return
            stored = tx.throttle(challenge.username)
            state = self.lockout.current(stored, now)
            self._put(tx, challenge.username, stored, self.lockout.fail(state, now), now)

    return _authenticator(malformed_code=malformed_code)


def unicode_digits_accepted() -> dict[str, Any]:
    """Codes read with `int()`, which takes any Unicode decimal digits ("٠١٢٣٤٥")."""

    def code_format(code: str) -> str | None:
        return f"{int(code):06d}" if len(code) == 6 and code.isdecimal() else None

    return {"edge": {"code_format": code_format}}


def lock_lost_on_restart() -> dict[str, Any]:
    """Lock state kept in memory only: a restart forgets every failure and lock."""

    def forget_locks(server: Any) -> None:
        for account in server.accounts:
            server.auth.reset_lockout(account.username)

    return {"on_restart": forget_locks}


@dataclass(frozen=True)
class Mutant:
    name: str
    fails: str  # the requirement whose case must fail
    seams: dict[str, Any] | Any = field(
        default_factory=dict
    )  # EmbeddedServer keywords (or a maker)
    also: tuple[str, ...] = ()  # neighbours run alongside

    @property
    def selection(self) -> list[str]:
        return sorted({self.fails, *self.also})

    def embedded_seams(self) -> dict[str, Any]:
        return self.seams() if callable(self.seams) else dict(self.seams)


MUTANTS = [
    Mutant("wider drift window (±2 steps)", "TOTP-3", {"totp": {"skew_steps": 2}}),
    Mutant("narrower drift window (±0 steps)", "TOTP-2", {"totp": {"skew_steps": 0}}),
    Mutant("replay allowed", "TOTP-4", {"totp": {"replay_protection": False}}),
    Mutant("wrong HMAC (SHA256)", "TOTP-1", {"totp": {"algorithm": "SHA256"}}, also=("TOTP-2",)),
    Mutant("no lockout", "LOCK-1", {"lockout": {"max_failures": 10**9}}, also=("LOCK-2",)),
    Mutant("lockout after 6 failures", "LOCK-1", {"lockout": {"max_failures": 6}}),
    Mutant("TOTP failures not counted", "LOCK-1", {"lockout": {"counts_code_failures": False}}),
    Mutant("no Retry-After header", "LOCK-2", {"edge": {"retry_after_header": False}}),
    Mutant("a right password resets the counter", "LOCK-4", password_resets_counter),
    Mutant("lock extended by attempts", "LOCK-3", attempts_extend_lock),
    Mutant("no escalation", "LOCK-7", {"lockout": {"escalation": None}}),
    Mutant(
        "enumeration by answer (unknown_user)",
        "LOGIN-3",
        lambda: _authenticator(unknown_user_error="unknown_user"),
    ),
    Mutant(
        "enumeration by lockout (unknown never locked)",
        "LOGIN-3",
        lambda: _authenticator(throttle_unknown_users=False),
    ),
    Mutant("challenge reusable", "CHAL-2", {"challenges": {"single_use": False}}),
    Mutant("challenges never expire", "CHAL-3", challenges_never_expire),
    Mutant("sessions never expire", "SESS-4", sessions_never_expire),
    Mutant("logout does not revoke", "SESS-5", {"sessions": {"revoke_on_logout": False}}),
    Mutant("no WWW-Authenticate", "SESS-3", {"edge": {"www_authenticate": False}}),
    Mutant("short tokens (8 bytes)", "SESS-1", {"tokens": {"nbytes": 8}}, also=("CHAL-1",)),
    Mutant("short challenge tokens (8 bytes)", "CHAL-1", {"tokens": {"nbytes": 8}}),
    Mutant("500 on bad JSON", "INPUT-1", {"edge": {"bad_json_status": 500}}, also=("INPUT-5",)),
    Mutant("no body limit", "INPUT-2", {"edge": {"body_limit": None}}),
    Mutant("no Cache-Control: no-store", "SESS-1", {"edge": {"cache_control": False}}),
    Mutant("malformed codes counted", "TOTP-5", malformed_codes_counted),
    Mutant("idle clients never dropped", "INPUT-4", {"idle_timeout": 3600.0}),
    Mutant("Unicode digits accepted as a code", "TOTP-5", unicode_digits_accepted),
    Mutant("lock state lost on restart", "LOCK-6", lock_lost_on_restart),
]
