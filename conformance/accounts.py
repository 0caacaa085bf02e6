"""The pool of test accounts and what the suite knows of each one's state on the target.

A case that changes an account gets its own. The pool remembers, per account, the last accepted
TOTP step (the next success needs a later one, TOTP-4), the consecutive failures and the lock
(LOCK-1, escalating under LOCK-7), so that it never hands out an account in a state the case
does not expect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.profile import AccountSpec

MAX_FAILURES = 5
LOCK_CAP_S = 86400


@dataclass(frozen=True)
class LockPolicy:
    """What `/api/info` says about lockout."""

    duration_s: float
    escalation: str | None = None
    max_failures: int = MAX_FAILURES

    def lock_length(self, nth: int) -> float:
        """Length of the nth lock since the last successful verify (1-based)."""
        if self.escalation == "double":
            return min(self.duration_s * 2 ** (nth - 1), LOCK_CAP_S)
        return self.duration_s


@dataclass
class Account:
    spec: AccountSpec
    last_step: int | None = None
    failures: int = 0
    locks: int = 0
    locked_until: float = 0.0
    tainted: bool = False
    broken: bool = False
    in_use: bool = False
    used_backup_codes: set[str] = field(default_factory=set)

    @property
    def username(self) -> str:
        return self.spec.username

    @property
    def password(self) -> str:
        return self.spec.password

    @property
    def secret(self) -> str:
        return self.spec.totp_secret

    def is_locked(self, now: float) -> bool:
        return now < self.locked_until

    def is_fresh(self, now: float, max_failures: int = 0) -> bool:
        """Usable now, with at most `max_failures` failures already counted on the target."""
        return (
            not self.tainted
            and not self.broken
            and self.failures <= max_failures
            and not self.is_locked(now)
        )

    def failed(self, now: float, policy: LockPolicy) -> bool:
        """Count one judged failure; return True when it starts a lock."""
        self.failures += 1
        if self.failures >= policy.max_failures:
            self.locks += 1
            self.locked_until = now + policy.lock_length(self.locks) + 1.0
            self.failures = 0
            return True
        return False

    def succeeded(self, step: int | None) -> None:
        if step is not None:
            self.last_step = step if self.last_step is None else max(self.last_step, step)
        self.failures = 0
        self.locks = 0
        self.locked_until = 0.0
        self.tainted = False

    def saw_lock(self, now: float, retry_after: float) -> None:
        """The target said 429: trust its retry_after for when the lock ends."""
        self.locked_until = now + retry_after + 0.5
        self.failures = 0

    def unused_backup_codes(self) -> list[str]:
        return [c for c in self.spec.backup_codes if c not in self.used_backup_codes]

    def spare_backup_code(self) -> str | None:
        """An unused backup code, keeping the last one for the SESS-6 case."""
        unused = self.unused_backup_codes()
        return unused[0] if len(unused) > 1 else None


class NoAccount(RuntimeError):
    """No account can be handed out without a wait the run does not allow."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class AccountPool:
    def __init__(self, specs: tuple[AccountSpec, ...] | list[AccountSpec]) -> None:
        self.accounts = [Account(spec) for spec in specs]

    def __len__(self) -> int:
        return len(self.accounts)

    def usable(self) -> list[Account]:
        return [a for a in self.accounts if not a.broken]

    def candidates(self, now: float, max_failures: int = 0) -> list[Account]:
        """Accounts not in use, best first: fresh, then needing a reset, then locked (soonest).

        Among fresh ones, the account with the oldest accepted step first: it can sign in now.
        """
        free = [a for a in self.accounts if not a.in_use and not a.broken]

        def rank(a: Account) -> tuple[int, float, int]:
            if a.is_fresh(now, max_failures):
                group = 0
            elif not a.is_locked(now):
                group = 1
            else:
                group = 2
            step = a.last_step if a.last_step is not None else -1
            return (group, a.locked_until if group == 2 else 0.0, step)

        return sorted(free, key=rank)

    def by_name(self, username: str) -> Account:
        for account in self.accounts:
            if account.username == username:
                return account
        raise KeyError(username)
