"""The test accounts of the profile, each with the target model's view of its state.

The pool decides which account a case gets; it never changes what is known of an account (the
model does that, from what the target answered: model.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from conformance.model import AccountState, TargetModel
from conformance.oracle import PERIOD
from conformance.profile import AccountSpec


@dataclass
class Account:
    spec: AccountSpec
    state: AccountState
    in_use: bool = False
    holder: int | None = None  # the thread of the case that holds it
    set_aside: str = ""  # why the run does not use it (it could not be brought to a known state)
    reset_blocked_by: str = ""  # "ID: why" when a broken rule keeps its counter from a reset
    pool_accounts: list[Account] = field(default_factory=list, repr=False, compare=False)

    @property
    def username(self) -> str:
        return self.spec.username

    @property
    def password(self) -> str:
        return self.spec.password

    @property
    def secret(self) -> str:
        return self.spec.totp_secret

    @property
    def broken(self) -> bool:
        return bool(self.set_aside)

    @property
    def last_step(self) -> int | None:
        return self.state.last_step

    @property
    def failures(self) -> int:
        return self.state.failures

    @property
    def locks(self) -> int:
        return self.state.locks

    @property
    def locked_until(self) -> float:
        return self.state.locked_until

    @property
    def lock_sent(self) -> float:
        return self.state.lock_sent

    def is_locked(self, now: float) -> bool:
        return self.state.is_locked(now)

    def is_fresh(self, now: float, max_failures: int = 0) -> bool:
        """Known, usable now, with at most `max_failures` failures counted on the target; a
        clean account (`max_failures` 0) has no lock behind it either, so that its next lock
        is not escalated (LOCK-7)."""
        return (
            self.state.known
            and not self.broken
            and self.failures <= max_failures
            and (max_failures > 0 or self.locks == 0)
            and not self.is_locked(now)
        )

    def unused_steps(self, current: int) -> int:
        """How many of the steps the target takes now (current-1..current+1) are still unused."""
        first = current - 1 if self.last_step is None else max(current - 1, self.last_step + 1)
        return max(0, current + 2 - first)

    def unused_backup_codes(self) -> list[str]:
        return [c for c in self.spec.backup_codes if c not in self.state.spent_backup_codes]

    def backup_codes_to_try(self) -> list[str]:
        """The unused backup codes in a random order: earlier runs spent some that this run
        cannot know of, and a fixed order would meet those first, run after run."""
        unused = self.unused_backup_codes()
        return random.sample(unused, len(unused))

    def spare_backup_code(self) -> str | None:
        """An unused backup code, keeping this account's last one for the SESS-6 case unless
        another account still has one. Picked at random: earlier runs spent some that this run
        cannot know of, and a fixed order would meet those first, run after run."""
        unused = self.unused_backup_codes()
        if len(unused) > 1 or (unused and self.others_have_backup_codes()):
            return random.choice(unused)  # noqa: S311 - an order, not a secret
        return None

    def others_have_backup_codes(self) -> bool:
        return any(a is not self and a.unused_backup_codes() for a in self.pool_accounts)


class NoAccount(RuntimeError):
    """No account can be handed out without a wait the run does not allow."""


class AccountPool:
    def __init__(self, model: TargetModel) -> None:
        self.accounts = [Account(spec, model.state(spec.username)) for spec in model.specs.values()]
        for account in self.accounts:
            account.pool_accounts = self.accounts

    def __len__(self) -> int:
        return len(self.accounts)

    def usable(self) -> list[Account]:
        return [a for a in self.accounts if not a.broken]

    def set_aside_notes(self) -> list[str]:
        return [f"{a.username}: {a.set_aside}" for a in self.accounts if a.broken]

    def candidates(
        self, now: float, max_failures: int = 0, spends_step: bool = True
    ) -> list[Account]:
        """Accounts not in use, best first: fresh, then needing a sign-in, then locked (soonest).
        For a case that spends TOTP steps, a fresh account whose steps are all spent comes
        after those needing a sign-in (which can spend a backup code; a step takes 30 s).

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
            if a.is_fresh(now, max_failures):
                group = 1 if spends_step and unused == 0 else 0
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
