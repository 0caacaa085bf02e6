"""Sign-in and lock flows the cases share: each sends requests and lets the model learn from them.

A flow that cannot go on because the target broke a rule some other case judges stops the case
as "not run: blocked by X-n" (one broken rule, one failed requirement).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import httpx
import pytest

from conformance import oracle
from conformance.accounts import Account
from conformance.api import Api, body_of
from conformance.checks import describe
from conformance.clock import SAFE_MARGIN_S
from conformance.model import LockPolicy, TargetModel
from conformance.steps import LOGIN_BUDGET_S, Scheduler
from conformance.timing import ACCOUNT_WAIT, STEP_WAIT
from conformance.together import together

BACKUP_TRIES = 2  # refused backup codes (spent before this run) tried before a TOTP code
BACKUP_GIVE_UP = 6  # refusals, with no backup code ever taken, before the run stops trying


JUDGING: contextvars.ContextVar[str] = contextvars.ContextVar("judging", default="")


@contextlib.contextmanager
def judging(req_id: str) -> Iterator[None]:
    """The requirement the case on this thread judges (its own rule is never "blocking")."""
    token = JUDGING.set(req_id)
    try:
        yield
    finally:
        JUDGING.reset(token)


def blocked(req_id: str, what: str) -> None:
    """The case cannot go on: the target broke a rule that `req_id`'s case judges. For the
    case of `req_id` itself that is its failure."""
    if req_id == JUDGING.get():
        raise AssertionError(what)
    pytest.skip(f"not run: blocked by {req_id}: {what}")


class Flows(Scheduler):
    """Mixed into `Conformance`: the common ways of signing in, failing and locking."""

    model: TargetModel
    session_tokens: list[str]
    backup_codes_work: bool | None
    backup_refusals: int

    @property
    def policy(self) -> LockPolicy:
        return self.model.policy

    def ttl(self, key: str, default: float) -> float:
        value = self.info.get(key)
        return float(value) if isinstance(value, int | float) else default

    def alive(self, issued: float) -> bool:
        """Whether a challenge asked for at `issued` surely outlives one more request: when
        not, the target would rightly answer invalid_challenge, which judges nothing."""
        assert self.clock is not None
        age = self.now - issued + LOGIN_BUDGET_S + self.clock.uncertainty
        return age < self.ttl("challenge_ttl_s", 120)

    # --- what a case relies on but does not judge ------------------------------------------
    def succeeded(self, response: httpx.Response, what: str, step: int | None = None) -> None:
        """A step the case relies on: when the target refuses it, the case is blocked by the
        rule the refusal breaks (its own case judges that), instead of failing."""
        if response.status_code != 200:
            blocked(self.rule_broken_by(response, step), f"{what}: {describe(response)}")

    def rule_broken_by(self, response: httpx.Response, step: int | None = None) -> str:
        """The requirement a refusal of a right password or code breaks."""
        error = (body_of(response) or {}).get("error")
        if response.status_code == 429:
            return "LOCK-1"  # a lock where the lockout rules say there is none
        if error == "invalid_code" and step is not None:
            sent = response.request.extensions.get("conformance_sent", self.now)
            return "TOTP-1" if step == oracle.step_of(sent) else "TOTP-2"
        if error == "invalid_code":
            return "SESS-6"  # a spare backup code refused
        if error == "invalid_challenge":
            return "CHAL-1"  # a fresh challenge of this account refused
        return "LOGIN-1" if response.request.url.path.endswith("/login") else "INPUT-1"

    def locked_answer(self, api: Api, account: Account) -> httpx.Response:
        """The right password after the failures that lock: a 429 (a case about another lock
        rule is blocked by LOCK-1 when the failures did not lock)."""
        response = api.login(account.username, account.password)
        if response.status_code != 429:
            blocked("LOCK-1", f"the failures did not lock {account.username}: {describe(response)}")
        return response

    def lockout_works(self, api: Api, account: Account) -> None:
        """From a reset counter, whether the failures lock at all: a case about another lock
        rule is blocked by LOCK-1 when they do not."""
        if account.is_locked(self.now) and self.may_wait(account.locked_until - self.now):
            self.wait(account.locked_until - self.now)
        self.sign_in(api, account, any_factor=True)
        self.lock(api, account)
        self.locked_answer(api, account)

    def retry_of(self, response: httpx.Response) -> int:
        """`retry_after` of a 429, read without judging its form (LOCK-2 judges that)."""
        retry = (body_of(response) or {}).get("retry_after")
        if response.status_code != 429 or not isinstance(retry, int) or retry < 1:
            blocked(
                "LOCK-2", f"a lockout answer without a usable retry_after: {describe(response)}"
            )
        return int(retry)

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

        With `any_factor`, a backup code from the profile is tried first when the target takes
        them (SESS-6): it spends no TOTP step, and each account accepts one new step per 30 s
        (TOTP-4), which is what bounds a live run's speed. A TOTP code is sent on a challenge
        taken after any wait for its step, so that the challenge cannot lapse meanwhile."""
        if any_factor and self.backup_codes_work is not False and account.spare_backup_code():
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

    def any_factor(
        self, account: Account, prefer_backup: bool = True
    ) -> tuple[dict[str, str], int | None]:
        """A second factor for a login and verify that follow at once: a backup code where the
        target has been seen taking them (it spends no TOTP step), else the code of an unused
        step (waiting for one first). With `prefer_backup` False, the code of a step that is
        usable without waiting comes first. Returns (verify fields, the code's step or None)."""
        backup = account.spare_backup_code() if self.backup_codes_work else None
        if not prefer_backup and (backup is None or self.step_usable_now(account)):
            backup = None
        if backup is not None:
            return {"backup_code": backup}, None
        self.ready(account)
        code, step = self.next_code(account)
        return {"totp_code": code}, step

    # --- failures --------------------------------------------------------------------------
    def make_room(self, failures: int) -> None:
        """Wait until `failures` more fit under the target's per-address limit (LOCK-8), so
        that no case is refused for what other cases did."""
        wait = self.model.room_in(failures, self.now)
        if wait > 0:
            self.wait(wait, ACCOUNT_WAIT)

    def wait_out_throttle(self) -> None:
        """Let the per-address window pass (after a case that crossed the limit on purpose)."""
        throttle = self.model.throttle
        if throttle is not None:
            self.wait(throttle.window_s + 1, ACCOUNT_WAIT)

    def wrong_password(self, api: Api, account: Account) -> httpx.Response:
        self.make_room(1)
        return api.login(account.username, account.password + "-wrong")

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
        if account.is_locked(self.now):
            return []
        count = max(1, self.policy.max_failures - account.failures)
        self.make_room(count)
        wrong = account.password + "-wrong"
        return together(api, [lambda a: a.login(account.username, wrong)] * count)

    def surely_locked(self, account: Account, length: float) -> bool:
        """Whether an answer received now was surely judged during the latest lock of `length`
        (a busy target may queue a request until after the lock has ended)."""
        assert self.clock is not None
        return self.now < account.lock_sent + length - self.clock.uncertainty
