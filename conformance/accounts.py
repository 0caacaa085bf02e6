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
PERIOD = 30  # the TOTP step (RFC 6238 X)
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
    holder: int | None = None  # the thread of the case that holds it
    # Target time just before the failure that started the latest lock was sent: that lock
    # ends no earlier than this plus its length, however slowly the target answers.
    lock_sent: float = 0.0
    pool_accounts: list[Account] = field(default_factory=list, repr=False, compare=False)
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
        """Usable now, with at most `max_failures` failures already counted on the target; a
        clean account (`max_failures` 0) has no lock behind it either, so that its next lock
        is not escalated (LOCK-7)."""
        return (
            not self.tainted
            and not self.broken
            and self.failures <= max_failures
            and (max_failures > 0 or self.locks == 0)
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

    def saw_lock(self, now: float, retry_after: float, policy: LockPolicy | None = None) -> None:
        """The target said 429: trust its retry_after for when the lock ends, and count at
        least as many locks as a lock that long takes (the next one is escalated, LOCK-7)."""
        self.locked_until = now + retry_after + 0.5
        self.failures = 0
        self.locks = max(self.locks, 1)
        if policy is not None:
            while self.locks < 32 and policy.lock_length(self.locks) < retry_after - 1:
                self.locks += 1

    def unused_steps(self, current: int) -> int:
        """How many of the steps the target takes now (current-1..current+1) are still unused."""
        first = current - 1 if self.last_step is None else max(current - 1, self.last_step + 1)
        return max(0, current + 2 - first)

    def unused_backup_codes(self) -> list[str]:
        return [c for c in self.spec.backup_codes if c not in self.used_backup_codes]

    def spare_backup_code(self) -> str | None:
        """An unused backup code, keeping this account's last one for the SESS-6 case unless
        another account still has one."""
        unused = self.unused_backup_codes()
        if len(unused) > 1 or (unused and self.others_have_backup_codes()):
            return unused[0]
        return None

    def others_have_backup_codes(self) -> bool:
        return any(a is not self and a.unused_backup_codes() for a in self.pool_accounts)


class NoAccount(RuntimeError):
    """No account can be handed out without a wait the run does not allow."""

    def __init__(self, message: str, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class AccountPool:
    def __init__(self, specs: tuple[AccountSpec, ...] | list[AccountSpec]) -> None:
        self.accounts = [Account(spec) for spec in specs]
        for account in self.accounts:
            account.pool_accounts = self.accounts

    def __len__(self) -> int:
        return len(self.accounts)

    def usable(self) -> list[Account]:
        return [a for a in self.accounts if not a.broken]

    def candidates(
        self, now: float, max_failures: int = 0, spends_step: bool = True
    ) -> list[Account]:
        """Accounts not in use, best first: fresh, then needing a reset, then locked (soonest).
        For a case that spends TOTP steps, a fresh account whose steps are all spent comes
        after those needing a reset (a reset can spend a backup code; a step takes 30 s).

        Among fresh ones, for a case that spends TOTP steps, the account with the most second
        factors at hand (unused steps, and a few backup codes: either signs in now), and for
        one that spends none, the fewest unused steps (leaving them to others); then the one
        with most unused backup codes.
        """
        free = [a for a in self.accounts if not a.in_use and not a.broken]

        current = int(now // PERIOD)

        def rank(a: Account) -> tuple[int, float, int, int]:
            unused = a.unused_steps(current)
            codes = len(a.unused_backup_codes())
            spent = unused == 0
            if a.is_fresh(now, max_failures):
                group = 1 if spends_step and spent else 0
            elif not a.is_locked(now):
                group = 1
            else:
                group = 2
            return (
                group,
                a.locked_until if group == 2 else 0.0,
                -(unused + min(codes, 3)) if spends_step else unused,
                -codes,
            )

        return sorted(free, key=rank)

    def by_name(self, username: str) -> Account:
        for account in self.accounts:
            if account.username == username:
                return account
        raise KeyError(username)
