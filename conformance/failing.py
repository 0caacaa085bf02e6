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
        self.make_room(1)
        return api.login(account.username, account.password + "-wrong")

    def wrong_passwords(self, api: Api, account: Account, count: int) -> list[httpx.Response]:
        """`count` wrong passwords side by side (each is judged and counted alike)."""
        if count <= 0:
            return []
        self.make_room(count)
        wrong = account.password + "-wrong"
        return together(api, [lambda a: a.login(account.username, wrong)] * count)

    def wrong_code(self, api: Api, account: Account, challenge: str) -> httpx.Response:
        """A well-formed code that is wrong for every step near now (no fresh step needed)."""
        self.make_room(1)
        return api.verify(challenge, self.a_wrong_code(account))

    def a_wrong_code(self, account: Account) -> str:
        step = oracle.step_of(self.now)
        near = {oracle.code_at_step(account.secret, s) for s in range(step - 2, step + 3)}
        wrong = f"{(int(oracle.code_at_step(account.secret, step)) + 500000) % 1000000:06d}"
        while wrong in near:
            wrong = f"{(int(wrong) + 1) % 1000000:06d}"
        return wrong

    def lock(self, api: Api, account: Account) -> list[httpx.Response]:
        """Wrong passwords up to the limit, side by side (their hashes overlap): each is
        judged and counted, and the one that reaches the limit starts the lock."""
        left = account.locked_until - self.now  # the model's bound on a lock's end
        if left > 0:
            if not self.may_wait(left):
                return []
            self.wait(left)
        return self.wrong_passwords(
            api, account, max(1, self.policy.max_failures - account.failures)
        )

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
