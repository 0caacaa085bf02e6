"""Sign-in flows the cases share: each sends requests and lets the model learn from them.

A challenge is taken after any wait for a usable TOTP step, so that it cannot lapse before its
code is sent. A flow that cannot go on because the target broke a rule some other case judges
stops the case as "not run: blocked by X-n" (blocking.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from conformance import oracle
from conformance.accounts import Account
from conformance.api import Api, body_of
from conformance.clock import SAFE_MARGIN_S
from conformance.failing import Failing
from conformance.model import TargetModel
from conformance.steps import LOGIN_BUDGET_S
from conformance.timing import STEP_WAIT


@dataclass(frozen=True)
class Issued:
    """A session the target issued: its token, whose it is, and when (target time) the verify
    that issued it was sent and answered."""

    token: str
    username: str
    sent: float
    received: float


BACKUP_TRIES = 2  # refused backup codes (spent before this run) tried before a TOTP code
BACKUP_GIVE_UP = 6  # refusals, with no backup code ever taken, before the run stops trying


class Flows(Failing):
    """Mixed into `Conformance`: the common ways of signing in, failing and locking."""

    model: TargetModel
    target: Any  # session.Target
    session_tokens: list[str]
    spare_sessions: list[Issued]  # issued by reconciliation and used by nothing yet
    backup_codes_work: bool | None
    backup_refusals: int

    def lockout_works(self, api: Api, account: Account) -> None:
        """From a reset counter, whether the failures lock at all: a case about another lock
        rule is blocked by LOCK-1 when they do not."""
        if account.is_locked(self.now) and self.may_wait(account.locked_until - self.now):
            self.wait(account.locked_until - self.now)
        self.sign_in(api, account, any_factor=True)
        self.lock(api, account)
        self.locked_answer(api, account)

    def login_ok(self, api: Api, account: Account, then_verify: bool = True) -> str:
        """The right password: a challenge (after `ready` when a code is to follow at once)."""
        if then_verify:
            self.ready(account)
        response = api.login(account.username, account.password)
        self.succeeded(response, f"login of {account.username} with the right password")
        return str(body_of(response)["challenge_token"])

    def challenge_with_code(
        self, api: Api, account: Account, offset: int | None = None
    ) -> tuple[str, str, int]:
        """A code first (waiting for its step if needed), then a challenge to spend it on,
        taken far enough from the step's end that neither can lapse in between."""
        while True:
            code, step = self.next_code(account, offset)
            if self.lasts(LOGIN_BUDGET_S):
                return self.login_ok(api, account, then_verify=False), code, step
            self.wait(oracle.PERIOD - self.now % oracle.PERIOD + SAFE_MARGIN_S, STEP_WAIT)

    def sign_in(
        self, api: Api, account: Account, any_factor: bool = False
    ) -> tuple[str, int | None]:
        """Password then second factor; returns (session token, accepted step or None)."""
        response, step = self.sign_in_response(api, account, any_factor)
        return str(body_of(response)["session_token"]), step

    def sign_in_response(
        self, api: Api, account: Account, any_factor: bool = False, challenge: str | None = None
    ) -> tuple[httpx.Response, int | None]:
        """A successful verify; returns (the 200, the accepted step or None)."""
        _, response, step = self.sign_in_on(api, account, any_factor, challenge)
        return response, step

    def sign_in_on(
        self, api: Api, account: Account, any_factor: bool = False, challenge: str | None = None
    ) -> tuple[str, httpx.Response, int | None]:
        """A successful verify: (the challenge it spent, the 200, the accepted step or None).

        With `any_factor`, when no TOTP step is usable without a wait, a spare backup code
        (accounts.py: live clock only, beyond the reserve) is tried instead: each account accepts
        one new step per 30 s (TOTP-4), which is what bounds a live run's speed. A TOTP code is
        sent on a challenge taken after any wait for its step, so that it cannot lapse."""
        if (
            any_factor
            and self.backup_codes_work is not False
            and not self.step_usable_now(account)
            and account.spare_backup_code()
        ):
            challenge = challenge or self.login_ok(api, account, then_verify=False)
            response = self.try_backup_codes(api, account, challenge)
            if response is not None:
                return challenge, *self._signed_in(response, account, None)
        if challenge is None or not self.step_usable_now(account):
            challenge = self.login_ok(api, account)  # after `ready`: it cannot lapse
        code, step = self.next_code(account)
        return challenge, *self._signed_in(api.verify(challenge, code), account, step)

    def _signed_in(
        self, response: httpx.Response, account: Account, step: int | None
    ) -> tuple[httpx.Response, int | None]:
        what = "a backup code" if step is None else f"the code of step {step}"
        self.succeeded(response, f"verify of {account.username} with {what}", step)
        self.session_tokens.append(str(body_of(response)["session_token"]))
        return response, step

    def keep_spare(self, response: httpx.Response, account: Account, sent: float) -> None:
        """A session that bringing an account to a known state issued: a case that only needs a
        valid session takes it instead of signing in (a slow hash) again."""
        token = (body_of(response) or {}).get("session_token")
        if response.status_code == 200 and isinstance(token, str):
            with self.model.lock:
                self.spare_sessions.append(Issued(token, account.username, sent, self.now))

    def spare_session(self) -> Issued | None:
        """An unused session with at least half its life left (and a few requests' time), or
        None. Sessions issued before a restart are not kept (they need not survive one)."""
        ttl = self.ttl("session_ttl_s", 3600)
        with self.model.lock:
            while self.spare_sessions:
                spare = self.spare_sessions.pop()
                if spare.sent + ttl - self.now >= max(ttl / 2, 2 * LOGIN_BUDGET_S):
                    return spare
        return None

    def restart_target(self) -> str | None:
        """Restart the target (LOCK-6): the spare sessions may not outlive it."""
        assert self.target.restart is not None
        with self.model.lock:
            self.spare_sessions.clear()
        return self.target.restart()

    def try_backup_codes(self, api: Api, account: Account, challenge: str) -> httpx.Response | None:
        """A 200 for one of the account's spare backup codes, or None. A refused one may have
        been spent before this run (the model marks it spent); after a few refusals and no
        success at all, the run stops trying them."""
        for _ in range(BACKUP_TRIES):
            code = account.spare_backup_code()
            if code is None or account.failures >= self.policy.max_failures - 2:
                return None
            response = api.verify(challenge, backup_code=code)
            if response.status_code == 200:
                self.backup_codes_work = True
                return response
            if response.status_code != 401 or (body_of(response) or {}).get("error") != (
                "invalid_code"
            ):
                return None
        self.backup_refusals += BACKUP_TRIES
        if not self.backup_codes_work and self.backup_refusals >= BACKUP_GIVE_UP:
            self.backup_codes_work = False
        return None

    def any_factor(self, account: Account) -> tuple[dict[str, str], int | None]:
        """A second factor for a login and verify that follow at once: the code of a step usable
        without waiting, else a spare backup code where the target has been seen taking them,
        else the code of an unused step (waiting for one first). Returns (verify fields, the
        code's step or None)."""
        if not self.step_usable_now(account) and self.backup_codes_work:
            backup = account.spare_backup_code()
            if backup is not None:
                return {"backup_code": backup}, None
        self.ready(account)
        code, step = self.next_code(account)
        return {"totp_code": code}, step
