"""Start from the target as it is: bring an account to a known state before a case uses it.

Earlier runs (or other people) may have left an account locked, with failures counted, with its
escalation level raised, or with TOTP steps spent. One successful sign-in resets the counter and
the escalation (LOCK-4, LOCK-7) and, with a TOTP code, says which step the target last accepted:
the codes of the window are tried oldest first, and a refused one (already spent, TOTP-4) tells
the model the target is past it. Only a code taken (or the window's newest refused) says exactly
where the target stands; until then no backup code ends the reconciliation, since every later
code the run sends must be of a step after the target's last. A lock is waited out when the run
may wait that long; otherwise the account is set aside, with the reason, and the cases run on
the others.
"""

from __future__ import annotations

from conformance import oracle
from conformance.accounts import Account
from conformance.api import Api, body_of
from conformance.checks import describe, unknown_name
from conformance.clock import delay_until_step, margin_for
from conformance.flows import Flows
from conformance.steps import LOGIN_BUDGET_S
from conformance.timing import ACCOUNT_WAIT, STEP_WAIT

ROUNDS = 6  # logins per account at most (each after a lock, an expired challenge or a step)
REFUSED_WINDOWS = 2  # whole windows of right codes refused: the target's TOTP is what is wrong


class Reconciler(Flows):
    def reconcile(self, api: Api, account: Account) -> None:
        """Sign in once (waiting out a lock when allowed); on no success, set it aside."""
        refused_windows = 0
        tried_backup = False  # once: earlier runs may have spent the codes it would pick
        for _ in range(ROUNDS):
            # An account whose last step is known exactly only needs its counter reset: a spare
            # backup code does that without waiting for a TOTP step. A step learnt from a refusal
            # is only a bound (others may have spent later ones): a TOTP code must find out.
            by_backup = (
                not tried_backup
                and account.state.last_step_exact
                and self.backup_codes_work is not False
                and account.spare_backup_code() is not None
                and not self.step_usable_now(account)
            )
            if not by_backup:
                self.ready(account, LOGIN_BUDGET_S + 1)
            response = api.login(account.username, account.password)
            if response.status_code == 429:  # the account's lock, or the address's (LOCK-8)
                wait = max(account.locked_until, self.model.throttled_until) - self.now
                if not self.may_wait(wait):
                    account.set_aside = self._lock_note(api, wait)
                    return
                self.wait(wait, ACCOUNT_WAIT)
                continue
            if response.status_code != 200:
                account.set_aside = f"the profile's password is refused: {describe(response)}"
                return
            challenge = str(body_of(response)["challenge_token"])
            if by_backup:
                tried_backup = True
                sent = self.now
                taken = self.try_backup_codes(api, account, challenge)
                if taken is not None:
                    self.keep_spare(taken, account, sent)
                    return
            outcome = self._spend_window(api, account, challenge)
            if outcome == "ok" and account.state.last_step_exact:
                account.reset_blocked_by = ""
                return
            if outcome == "ok":
                continue  # a backup code reset the counter; a fresh step will say the last one
            if outcome == "unsynced":
                # The target judges no code without a synced clock (TOTP-7): no sign-in can
                # reset the account; the count seen is the best there is.
                account.state.known = True
                account.reset_blocked_by = "TOTP-7: the target judges no code (clock not synced)"
                return
            if outcome == "refused":
                refused_windows += 1
                if refused_windows >= REFUSED_WINDOWS:
                    # Right codes refused window after window: the target's TOTP is at fault,
                    # which the TOTP cases judge. The count seen is the best there is.
                    account.state.known = True
                    account.reset_blocked_by = "TOTP-1: the target refuses right codes"
                    return
                assert self.clock is not None
                step = oracle.step_of(self.now)
                self.wait(delay_until_step(self.now, step + 1, margin_for(self.clock)), STEP_WAIT)
        account.set_aside = f"no sign-in succeeded in {ROUNDS} tries"

    def _lock_note(self, api: Api, wait: float) -> str:
        """Why a lock keeps the account out of this run: its own, or the address's (LOCK-8:
        failures before this run, e.g. one stopped inside LOCK-8), which a fresh name tells."""
        whose = "the account is locked by the target"
        if self.model.throttle is not None and api.login(unknown_name(), "wrong").status_code == (
            429
        ):
            whose = "this address is throttled by the target (LOCK-8: failures before this run)"
        return f"{whose} for another {wait:.0f} s (more than a run without --long waits)"

    def _spend_window(self, api: Api, account: Account, challenge: str) -> str:
        """Codes of the unspent steps of the window, oldest first, then a spare backup code:
        "ok" on a 200, "again" when a new login is needed, "refused" when all were refused."""
        step = oracle.step_of(self.now)
        last = account.last_step
        low = step - 1 if last is None else max(step - 1, last + 1)
        if low > step + 1:
            return "again"  # every step of the window is spent: wait for the next one
        for candidate in range(low, step + 2):
            if not self.lasts(0.5):
                return "again"
            sent = self.now
            response = api.verify(challenge, oracle.code_at_step(account.secret, candidate))
            if response.status_code == 200:
                self.keep_spare(response, account, sent)
                return "ok"
            if (body_of(response) or {}).get("error") == "clock_not_synced":
                return "unsynced"
            if response.status_code != 401 or (body_of(response) or {}).get("error") != (
                "invalid_code"
            ):
                return "again"
        sent = self.now
        taken = self.try_backup_codes(api, account, challenge)
        if taken is not None:
            self.keep_spare(taken, account, sent)
            return "ok"
        return "refused" if not account.is_locked(self.now) else "again"
