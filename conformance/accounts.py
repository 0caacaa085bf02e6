"""The test accounts of the profile, each with the target model's view of its state.

The pool decides which account a case gets; it never changes what is known of an account (the
model does that, from what the target answered: model.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from conformance.ledger import BackupLedger
from conformance.model import AccountState, TargetModel
from conformance.oracle import PERIOD
from conformance.profile import AccountSpec

# Never-submitted backup codes per account that no speed shortcut spends: SESS-6 needs one per
# run, and the owner's codes do not grow back (conformance/README.md).
SPARE_RESERVE = 5


@dataclass
class Account:
    spec: AccountSpec
    state: AccountState
    in_use: bool = False
    holder: int | None = None  # the thread of the case that holds it
    set_aside: str = ""  # why the run does not use it (it could not be brought to a known state)
    reset_blocked_by: str = ""  # "ID: why" when a broken rule keeps its counter from a reset
    ledger: BackupLedger | None = field(default=None, repr=False, compare=False)
    spare_codes: bool = False  # whether backup codes may save a wait (never on a movable clock)

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

    def is_fresh(self, now: float, max_failures: int = 0, first_lock: bool | None = None) -> bool:
        """Known, usable now, with at most `max_failures` failures counted on the target; with
        `first_lock` (a clean account's default: `max_failures` 0) no lock behind it either, so
        that its next lock is not escalated (LOCK-7)."""
        if first_lock is None:
            first_lock = max_failures == 0
        return (
            self.state.known
            and not self.broken
            and self.failures <= max_failures
            and (not first_lock or self.locks == 0)
            and not self.is_locked(now)
        )

    def unused_steps(self, current: int) -> int:
        """How many of the steps the target takes now (current-1..current+1) are still unused."""
        first = current - 1 if self.last_step is None else max(current - 1, self.last_step + 1)
        return max(0, current + 2 - first)

    def unused_backup_codes(self) -> list[str]:
        return [c for c in self.spec.backup_codes if c not in self.state.spent_backup_codes]

    def submitted_before(self, code: str) -> bool:
        """Whether this suite sent the code to the target in this run or an earlier one."""
        return self.ledger is not None and self.ledger.submitted(self.username, code)

    def fresh_backup_codes(self) -> list[str]:
        """Unused codes this suite has never submitted to the target, in any run."""
        return [c for c in self.unused_backup_codes() if not self.submitted_before(c)]

    def backup_codes_to_try(self) -> list[str]:
        """The unused backup codes, those never submitted first, each group in a random order
        (others, e.g. the owner, may have spent some that the ledger cannot know of)."""
        fresh = self.fresh_backup_codes()
        older = [c for c in self.unused_backup_codes() if c not in fresh]
        return random.sample(fresh, len(fresh)) + random.sample(older, len(older))

    def spare_backup_codes(self) -> list[str]:
        """Never-submitted codes a run may spend to save a TOTP wait: only on a live clock, and
        only those beyond the `SPARE_RESERVE` kept for SESS-6 in later runs."""
        fresh = self.fresh_backup_codes()
        return fresh[SPARE_RESERVE:] if self.spare_codes else []

    def spare_backup_code(self) -> str | None:
        spare = self.spare_backup_codes()
        return random.choice(self.fresh_backup_codes()) if spare else None  # noqa: S311 - not secret


class NoAccount(RuntimeError):
    """No account can be handed out without a wait the run does not allow."""


class AccountPool:
    def __init__(
        self,
        model: TargetModel,
        ledger: BackupLedger | None = None,
        spare_codes: bool = False,
        step_waits_free: bool = False,
    ) -> None:
        self.step_waits_free = step_waits_free  # a clock the suite moves: a step costs no wait
        self.accounts = [
            Account(spec, model.state(spec.username), ledger=ledger, spare_codes=spare_codes)
            for spec in model.specs.values()
        ]

    def __len__(self) -> int:
        return len(self.accounts)

    def usable(self) -> list[Account]:
        return [a for a in self.accounts if not a.broken]

    def set_aside_notes(self) -> list[str]:
        return [f"{a.username}: {a.set_aside}" for a in self.accounts if a.broken]

    def candidates(
        self,
        now: float,
        max_failures: int = 0,
        spends_step: bool = True,
        first_lock: bool | None = None,
    ) -> list[Account]:
        """Accounts not in use, best first: fresh, then needing a sign-in, then locked (soonest).
        For a case that spends TOTP steps, a fresh account whose steps are all spent comes
        after those needing a sign-in (which can spend a backup code; a step takes 30 s), unless
        the suite moves the target's clock (a step then costs nothing, a sign-in a slow hash).

        Among fresh ones, for a case that spends TOTP steps, the account with the most second
        factors at hand (unused steps, and a few backup codes: either signs in now), and for
        one that spends none, the fewest unused steps (leaving them to others); then the one
        with most unused backup codes. The fewest failures come before that (on a live target
        after the steps, which cost a wait): a case that may carry a failure or two leaves those
        that other cases left (LOGIN-4's) to the cases that fail up to the lock anyway.
        """
        free = [a for a in self.accounts if not a.in_use and not a.broken]
        current = int(now // PERIOD)

        def rank(a: Account) -> tuple[int, float, int, int, int]:
            unused = a.unused_steps(current)
            codes = len(a.spare_backup_codes())
            if a.is_fresh(now, max_failures, first_lock):
                group = 1 if spends_step and unused == 0 and not self.step_waits_free else 0
            elif not a.is_locked(now):
                group = 1
            else:
                group = 2
            steps = -(unused + min(codes, 3)) if spends_step else unused
            kept = a.failures  # left for the cases that fail up to the lock anyway
            order = (kept, steps) if self.step_waits_free else (steps, kept)
            return (group, a.locked_until if group == 2 else 0.0, *order, -codes)

        return sorted(free, key=rank)

    def by_name(self, username: str) -> Account:
        for account in self.accounts:
            if account.username == username:
                return account
        raise KeyError(username)
