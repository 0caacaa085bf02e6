"""Failures on purpose: wrong passwords and codes, and the locks they lead to (LOCK-1).

The model counts what the target judged (model.py); these only send. Failures that do not
depend on one another go side by side (together.py), and none crosses the target's
per-address limit (LOCK-8) unless a case declares it does.
"""

from __future__ import annotations

import httpx

from conformance import oracle
from conformance.accounts import Account
from conformance.api import Api
from conformance.blocking import Blocking
from conformance.checks import describe
from conformance.model import Ends
from conformance.steps import not_run
from conformance.timing import ACCOUNT_WAIT
from conformance.together import together


class Failing(Blocking):
    # --- failures --------------------------------------------------------------------------
    def make_room(self, failures: int) -> None:
        """Wait until `failures` more fit under the target's per-address limit (LOCK-8), so
        that no case is refused for what other cases did."""
        wait = self.model.room_in(failures, self.now)
        if wait > 0:
            self.wait(wait, ACCOUNT_WAIT)

    def wait_out_throttle(self) -> None:
        """Let the per-address window pass after a case that crossed the limit on purpose: until
        the model holds no failure of this address in it (what the case waited counts)."""
        throttle = self.model.throttle
        if throttle is not None:
            wait = self.model.room_in(throttle.max_failures - 1, self.now)
            if wait > 0:
                self.wait(wait, ACCOUNT_WAIT)

    def wrong_password(self, api: Api, account: Account) -> httpx.Response:
        return self.wrong_passwords(api, account, 1)[0]

    def wrong_passwords(self, api: Api, account: Account, count: int) -> list[httpx.Response]:
        """`count` wrong passwords side by side (each is judged and counted alike)."""
        if count <= 0:
            return []
        self.make_room(count)
        wrong = account.password + "-wrong"
        return together(api, [lambda a: a.login(account.username, wrong)] * count)

    def wrong_code(self, api: Api, account: Account, challenge: str) -> httpx.Response:
        """A well-formed code that is wrong for every step near now (no fresh step needed)."""
        return self.wrong_codes(api, account, challenge, 1)[0]

    def a_wrong_code(self, account: Account, nth: int = 0) -> str:
        """The `nth` of distinct codes wrong for every step near now."""
        step = oracle.step_of(self.now)
        near = {oracle.code_at_step(account.secret, s) for s in range(step - 2, step + 3)}
        wrong = int(oracle.code_at_step(account.secret, step)) + 500000
        for _ in range(nth + 1):
            while f"{wrong % 1000000:06d}" in near:
                wrong += 1
            near.add(f"{wrong % 1000000:06d}")
        return f"{wrong % 1000000:06d}"

    def wrong_codes(
        self, api: Api, account: Account, challenge: str, count: int
    ) -> list[httpx.Response]:
        """`count` distinct wrong codes on one challenge, side by side (no password hash on the
        target; distinct, so that none can pass for a repeat of another)."""
        if count <= 0:
            return []
        self.make_room(count)
        codes = [self.a_wrong_code(account, n) for n in range(count)]
        return together(api, [lambda a, code=code: a.verify(challenge, code) for code in codes])

    def fail_to(
        self, api: Api, account: Account, count: int, challenge: str | None = None
    ) -> list[httpx.Response]:
        """Failures side by side until the target counts `count` for the account (each is
        judged and counted; wrong passwords and codes count alike, LOCK-1).

        A password costs the target a slow hash and a code does not, so from a count of zero
        the failures are wrong codes on one challenge (one hash for the right password). With
        failures counted already they are wrong passwords: a target that wrongly resets the
        count on the right password (LOCK-4) would otherwise fall short here. Codes a challenge
        no longer takes (`invalid_challenge`: it lapsed while a slow target answered; a wrong
        code does not end it, DECISIONS) are made up with passwords. A `challenge` of the
        account that the caller holds (taken before the failures counted) saves that hash."""
        needed = count - account.failures
        if needed <= 0:
            return []
        if challenge is None:
            if account.failures or needed == 1:
                return self.wrong_passwords(api, account, needed)
            challenge = self.login_ok(api, account, then_verify=False)
        answers = self.wrong_codes(api, account, challenge, needed)
        if account.is_locked(self.now) or account.failures >= count:
            return answers
        return answers + self.wrong_passwords(api, account, count - account.failures)

    def lock(self, api: Api, account: Account) -> list[httpx.Response]:
        """Failures up to the limit (`fail_to`): the one that reaches it starts the lock."""
        left = account.locked_until - self.now  # the model's bound on a lock's end
        if left > 0:
            if not self.may_wait(left):
                return []
            self.wait(left)
        return self.fail_to(api, account, max(self.policy.max_failures, account.failures + 1))

    def surely_locked(self, account: Account, length: float | None = None) -> bool:
        """Whether an answer received now was surely judged during the latest lock (of `length`;
        by default the model's for the account's lock count): a busy target may queue a request
        until after the lock has ended, and an answer then is no evidence of the lock."""
        assert self.clock is not None
        if length is None:
            length = self.policy.lock_length(max(account.locks, 1))
        now = self.now
        ends = Ends.of_lock(account.lock_sent, now, length, self.clock.uncertainty)
        return ends.in_force_when_answered(now)

    def not_locked_then(self, account: Account, what: str, response: httpx.Response) -> None:
        """Not run when a check that needs the lock in force was answered after it could end."""
        if response.status_code != 429 and not self.surely_locked(account):
            not_run(
                f"{what} answered {describe(response)} when the lock could have ended "
                "(the target answered too slowly for this check)"
            )
