"""Handing accounts to cases: each case that changes an account gets its own, in a known state.

Cases running side by side each get their own accounts; one waits while another holds the only
accounts that fit. An account is brought to a known state (reconcile.py) the first time a run
hands it out, and again after a case that stopped part-way through with it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from conformance.accounts import Account, AccountPool, NoAccount
from conformance.api import Api
from conformance.blocking import JUDGING, blocked
from conformance.reconcile import Reconciler
from conformance.steps import not_run
from conformance.timing import ACCOUNT_WAIT, timed

POOL_POLL_S = 0.5  # how often a case waiting for an account held by another looks again
FAILURE_BUDGET = 2  # failures an account may carry into a case that does not count to the lock
MAX_RESETS = 4  # sign-ins to bring accounts to the state a case needs, before it is not run


class Handout(Reconciler):
    pool: AccountPool
    pool_changed: threading.Condition

    @contextlib.contextmanager
    def accounts(
        self,
        api: Api,
        count: int = 1,
        where: Callable[[Account], bool] | None = None,
        clean: bool = True,
        spends_step: bool = True,
        prefer: Callable[[Account], bool] | None = None,
        short_of_lock: bool = False,
    ) -> Iterator[list[Account]]:
        """Hand out `count` unlocked accounts in a known state; take them back after.

        `clean`: no failures counted (cases that count to the lock); otherwise up to
        FAILURE_BUDGET failures may already be counted, which saves a sign-in to reset them.
        `short_of_lock`: any count short of the lock, first those that lock for one password
        hash (cases that fail up to the lock anyway, `Failing.lock`): one failure short, so
        that the failures others left (LOGIN-4's) save hashes, or none (wrong codes then).
        `spends_step`: the case signs in with TOTP codes (it gets the account whose steps are
        oldest); a case that spends none gets the newest, leaving fresh steps to others.
        `prefer`: accounts for which it is true come first (among the usable ones).
        """
        taken: list[Account] = []
        ok = False
        allowed = 0 if clean else FAILURE_BUDGET
        first_lock = clean or short_of_lock
        if short_of_lock:
            allowed = self.policy.max_failures - 1
            prefer = prefer or (
                lambda a: a.failures in (0, allowed) and a.is_fresh(self.now, allowed, True)
            )
        try:
            with timed(ACCOUNT_WAIT):
                for _ in range(count):
                    taken.append(self.acquire(api, where, allowed, spends_step, prefer, first_lock))
            yield taken
            ok = True
        finally:
            with self.pool_changed:
                for account in taken:
                    account.in_use = False
                    account.holder = None
                    if not ok:  # stopped part-way: what it left behind is checked again
                        account.state.known = False
                self.pool_changed.notify_all()

    def acquire(
        self,
        api: Api,
        where: Callable[[Account], bool] | None = None,
        allowed: int = 0,
        spends_step: bool = True,
        prefer: Callable[[Account], bool] | None = None,
        first_lock: bool | None = None,
    ) -> Account:
        """An account with at most `allowed` failures counted (and with `first_lock`, no lock
        behind it), brought to a known state."""
        me = threading.get_ident()
        resets: dict[str, int] = {}
        while True:
            with self.pool_changed:
                try:
                    account = self._reserve(where, allowed, spends_step, me, prefer, first_lock)
                except NoAccount as exc:
                    not_run(" ".join([str(exc), *self.pool.set_aside_notes()]))
            now = self.now
            if account.state.known and account.is_locked(now):
                wait = account.locked_until - now
                if not self.may_wait(wait):
                    self._unreserve(account)
                    not_run(
                        f"every free account is locked for another {wait:.0f} s; "
                        "provide more accounts or run with --long"
                    )
                self.wait(wait, ACCOUNT_WAIT)
            elif account.is_fresh(now, allowed, first_lock):
                return account
            elif account.state.known and account.reset_blocked_by:
                rule, why = account.reset_blocked_by.split(": ", 1)
                if rule == JUDGING.get() and not account.is_locked(now):
                    return account  # as it is: the case judges that very rule on it
                self._unreserve(account)
                blocked(rule, why)
            elif resets.get(account.username, 0) >= MAX_RESETS:
                self._unreserve(account)
                not_run(f"{account.username} could not be reset in {MAX_RESETS} sign-ins")
            else:
                resets[account.username] = resets.get(account.username, 0) + 1
                self.reconcile(api, account)
            self._unreserve(account)

    def _reserve(
        self,
        where: Callable[[Account], bool] | None,
        allowed: int,
        spends_step: bool,
        me: int,
        prefer: Callable[[Account], bool] | None = None,
        first_lock: bool | None = None,
    ) -> Account:
        """The best free account, marked in use (call with `pool_changed` held); waits while
        the only matching accounts are held by cases running beside this one."""
        while True:
            candidates = [
                a
                for a in self.pool.candidates(self.now, allowed, spends_step, first_lock)
                if where is None or where(a)
            ]
            if prefer is not None:
                candidates.sort(key=lambda a: a.is_locked(self.now) or not prefer(a))
            if candidates:
                account = candidates[0]
                account.in_use = True
                account.holder = me
                return account
            held = [
                a
                for a in self.pool.accounts
                if a.in_use and a.holder != me and not a.broken and (where is None or where(a))
            ]
            if not held:
                usable = len(self.pool.usable())
                raise NoAccount(
                    f"no free test account: this case needs more than the {usable} usable "
                    f"accounts of the profile ({len(self.pool)} provisioned)."
                )
            self.pool_changed.wait(POOL_POLL_S)

    def _unreserve(self, account: Account) -> None:
        with self.pool_changed:
            account.in_use = False
            account.holder = None
            self.pool_changed.notify_all()

    def release_all(self) -> None:
        """Take back every account this thread still holds (a case that failed may leave some)."""
        me = threading.get_ident()
        with self.pool_changed:
            for account in self.pool.accounts:
                if account.holder == me or account.holder is None:
                    account.in_use = False
                    account.holder = None
            self.pool_changed.notify_all()
