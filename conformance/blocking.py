"""What a case relies on but does not judge, and what it says when the target breaks it.

A case checks its own rule. A step it only relies on (a sign-in, a lock, a `retry_after`) goes
through these, and when the target breaks another rule there the case is "not run: blocked by
X-n": one broken rule, one failed requirement. For the case of X-n itself it is its failure.
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
from conformance.model import LockPolicy, TargetModel
from conformance.steps import LOGIN_BUDGET_S, Scheduler

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


class Blocking(Scheduler):
    """Mixed into `Conformance`: the target's facts cases rely on, read tolerantly."""

    model: TargetModel

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

    def retry_of(self, response: httpx.Response) -> int:
        """`retry_after` of a 429, read without judging its form (LOCK-2 judges that)."""
        retry = (body_of(response) or {}).get("retry_after")
        if response.status_code != 429 or not isinstance(retry, int) or retry < 1:
            blocked(
                "LOCK-2", f"a lockout answer without a usable retry_after: {describe(response)}"
            )
        return int(retry)
