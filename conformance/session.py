"""One run of the suite against one target: its facts, clock, account pool and the common flows.

Cases call these flows (sign in, fail a password, lock an account) rather than repeating them, so
that the account pool always knows what the target was told.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conformance import oracle
from conformance.accounts import Account, AccountPool, LockPolicy, NoAccount
from conformance.api import Api, body_of, tls_context
from conformance.clock import (
    PERIOD,
    LiveClock,
    MovableClock,
    TargetClock,
    delay_until_step,
    margin_for,
    measure_offset,
    safe_delay,
)
from conformance.profile import TargetProfile
from conformance.recorder import Masker, Recorder
from conformance.timing import ACCOUNT_WAIT, EXPIRY_WAIT, STEP_WAIT, timed

MAX_UNLONG_WAIT_S = 60.0
POOL_POLL_S = 0.5  # how often a case waiting for an account held by another looks again
FAILURE_BUDGET = 2  # failures an account may carry into a case that does not count to the lock
LOGIN_BUDGET_S = 2.0  # a login's round trip, kept clear of the next step boundary


class TargetError(RuntimeError):
    """The target cannot be judged at all (unreachable, /api/info unusable)."""


def not_run(reason: str) -> None:
    """Report the case as not run, with the reason: never a silent pass."""
    pytest.skip(f"not run: {reason}")


@dataclass
class Target:
    """What the suite is told about the server: its profile, and hooks it may offer."""

    profile: TargetProfile
    restart: Callable[[], str | None] | None = None
    restart_missing_reason: str = "the target profile has no restart_command"
    clock: MovableClock | None = None
    base_url_override: str | None = None
    idle_limit_s: float = 30.0  # INPUT-4: how long an idle client may stay connected

    @property
    def base_url(self) -> str:
        return self.base_url_override or self.profile.base_url

    @property
    def name(self) -> str:
        return self.profile.name or self.base_url


@dataclass
class Conformance:
    target: Target
    long: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    clock: TargetClock | None = None
    pool: AccountPool | None = None
    masker: Masker = field(default_factory=Masker)
    recorders: list[Recorder] = field(default_factory=list)
    verify: Any = True
    session_tokens: list[str] = field(default_factory=list)
    backup_codes_work: bool | None = None
    pool_changed: threading.Condition = field(default_factory=threading.Condition)

    # --- set-up -------------------------------------------------------------------------
    def start(self) -> None:
        oracle.self_check()
        profile = self.target.profile
        self.verify = tls_context(profile.verify)
        for spec in profile.accounts:
            self.masker.add(spec.password, spec.totp_secret, *spec.backup_codes)
        self.pool = AccountPool(profile.accounts)
        recorder = self.recorder()
        api = self.api(recorder)
        try:
            self.info = self._read_info(api)
            if self.target.clock is not None:
                self.clock = self.target.clock
            else:
                self.clock = LiveClock(
                    measure_offset(lambda: int(self._read_info(api)["server_time"]))
                )
        finally:
            api.close()

    def _read_info(self, api: Api) -> dict[str, Any]:
        try:
            response = api.info()
        except httpx.HTTPError as exc:
            raise TargetError(f"GET {self.target.base_url}/api/info failed: {exc!r}") from exc
        info = body_of(response)
        if response.status_code != 200 or not isinstance(info, dict):
            raise TargetError(
                f"GET /api/info answered {response.status_code}: {response.text[:200]}"
            )
        if not isinstance(info.get("server_time"), int):
            raise TargetError("GET /api/info has no integer server_time; cannot measure the clock")
        return info

    def recorder(self) -> Recorder:
        recorder = Recorder(self.masker)
        self.recorders.append(recorder)
        return recorder

    def api(self, recorder: Recorder) -> Api:
        return Api(self.target.base_url, self.verify, recorder)

    # --- policy -------------------------------------------------------------------------
    @property
    def profile_name(self) -> str:
        return str(self.info.get("profile", "?"))

    @property
    def policy(self) -> LockPolicy:
        lockout = self.info.get("lockout") or {}
        return LockPolicy(
            duration_s=float(lockout.get("duration_s", 300)),
            escalation=lockout.get("escalation"),
        )

    def ttl(self, key: str, default: float) -> float:
        value = self.info.get(key)
        return float(value) if isinstance(value, int | float) else default

    @property
    def now(self) -> float:
        assert self.clock is not None
        return self.clock.now()

    def may_wait(self, seconds: float) -> bool:
        assert self.clock is not None
        return self.clock.movable or self.long or seconds <= MAX_UNLONG_WAIT_S

    def require_wait(self, seconds: float, what: str) -> None:
        if not self.may_wait(seconds):
            not_run(
                f"{what} needs a real wait of {seconds:.0f} s on a '{self.profile_name}' target; "
                "run with --long (or against a test-profile target)"
            )

    def wait(self, seconds: float, category: str = EXPIRY_WAIT) -> None:
        assert self.clock is not None
        with timed(category):
            self.clock.wait(seconds)

    def wait_until(self, when: float) -> None:
        self.wait(when - self.now)

    # --- TOTP ---------------------------------------------------------------------------
    def safe_now(self) -> float:
        """Wait to a point at least a safe margin from a step boundary; return target time."""
        assert self.clock is not None
        self.wait(safe_delay(self.clock.now(), margin_for(self.clock)), STEP_WAIT)
        return self.clock.now()

    def next_code(self, account: Account, offset: int | None = None) -> tuple[str, int]:
        """A code the target must accept now: the smallest step in T-1..T+1 after the last one.

        With `offset`, the code of step T+offset regardless of history (for window cases).
        """
        assert self.clock is not None
        while True:
            t = self.safe_now()
            step = oracle.step_of(t)
            if offset is not None:
                wanted = step + offset
                if account.last_step is None or wanted > account.last_step:
                    return oracle.code_at_step(account.secret, wanted), wanted
                current = account.last_step + 1 - offset
            else:
                low = (
                    step - 1 if account.last_step is None else max(step - 1, account.last_step + 1)
                )
                if low <= step + 1:
                    return oracle.code_at_step(account.secret, low), low
                current = low - 1
            # Every usable step is spent (TOTP-4): wait until step `current` has begun
            # (at most three steps: always allowed, even without --long).
            self.wait(delay_until_step(t, current, margin_for(self.clock)), STEP_WAIT)

    def factors_at_hand(self, account: Account) -> int:
        """Second factors the account offers without a wait: unused steps and backup codes."""
        codes = len(account.unused_backup_codes()) if self.backup_codes_work else 0
        return account.unused_steps(oracle.step_of(self.now)) + codes

    def step_usable_now(self, account: Account) -> bool:
        """Whether `ready` would return at once: an unused step, and a boundary far enough."""
        position = self.now % PERIOD
        margin = margin_for(self.clock) if self.clock is not None else 0.0
        safe = margin <= position <= PERIOD - margin - LOGIN_BUDGET_S
        return safe and account.unused_steps(oracle.step_of(self.now)) > 0

    # --- flows that change account state ------------------------------------------------
    def ready(self, account: Account) -> None:
        """Wait (before a challenge exists, so that it cannot expire meanwhile) until a fresh
        step is usable and the next boundary is far enough for a login and a verify."""
        assert self.clock is not None
        self.next_code(account)
        margin = margin_for(self.clock)
        position = self.now % PERIOD
        if position > PERIOD - margin - LOGIN_BUDGET_S:
            self.wait(PERIOD - position + margin, STEP_WAIT)

    def login_ok(self, api: Api, account: Account, then_verify: bool = True) -> str:
        """The right password: a challenge (after `ready` when a code is to follow at once)."""
        if then_verify:
            self.ready(account)
        response = api.login(account.username, account.password)
        self.note_lock(account, response)
        if response.status_code != 200:
            raise AssertionError(
                f"login of {account.username} with the right password answered "
                f"{response.status_code} {response.text[:200]}"
            )
        return str(body_of(response)["challenge_token"])

    def challenge_with_code(
        self, api: Api, account: Account, offset: int | None = None
    ) -> tuple[str, str, int]:
        """A code first (waiting for its step if needed), then a challenge to spend it on."""
        assert self.clock is not None
        while True:
            code, step = self.next_code(account, offset)
            position = self.now % PERIOD
            if position <= PERIOD - margin_for(self.clock) - LOGIN_BUDGET_S:
                return self.login_ok(api, account, then_verify=False), code, step
            self.wait(PERIOD - position + margin_for(self.clock), STEP_WAIT)

    def sign_in(
        self, api: Api, account: Account, any_factor: bool = False
    ) -> tuple[str, int | None]:
        """Password then second factor; returns (session token, accepted step or None)."""
        response, step = self.sign_in_response(api, account, any_factor)
        return str(body_of(response)["session_token"]), step

    def sign_in_response(
        self, api: Api, account: Account, any_factor: bool = False, challenge: str | None = None
    ) -> tuple[httpx.Response, int | None]:
        """A successful verify. With `any_factor`, a backup code from the profile is used when
        the target takes them (SESS-6): it spends no TOTP step, and each account accepts only
        one new step per 30 s (TOTP-4), which is what bounds a live run's speed. A `challenge`
        already at hand saves a login (a slow hash) on that path."""
        if any_factor and self.backup_codes_work is not False and account.spare_backup_code():
            response = self._backup_sign_in(api, account, challenge)
            if response is not None:
                return response, None
        challenge = self.login_ok(api, account)
        code, step = self.next_code(account)
        response = api.verify(challenge, code)
        self.note_lock(account, response)
        if response.status_code != 200:
            raise AssertionError(
                f"verify of {account.username} with the code of step {step} answered "
                f"{response.status_code} {response.text[:200]}"
            )
        account.succeeded(step)
        self.session_tokens.append(str(body_of(response)["session_token"]))
        return response, step

    def any_factor(
        self, account: Account, prefer_backup: bool = True
    ) -> tuple[dict[str, str], int | None]:
        """A second factor the target must take, for a login and verify that follow at once:
        a backup code where the target has been seen taking them (it spends no TOTP step),
        else the code of an unused step. With `prefer_backup` False, the code of a step that
        is usable without waiting comes first. Returns (verify fields, the code's step or
        None); the caller calls `account.succeeded(step)` on a 200."""
        backup = account.spare_backup_code() if self.backup_codes_work else None
        if not prefer_backup and (backup is None or self.step_usable_now(account)):
            backup = None
        if backup is not None:
            account.used_backup_codes.add(backup)
            return {"backup_code": backup}, None
        self.ready(account)
        code, step = self.next_code(account)
        return {"totp_code": code}, step

    def _backup_sign_in(
        self, api: Api, account: Account, challenge: str | None = None
    ) -> httpx.Response | None:
        code = account.spare_backup_code()
        assert code is not None
        if challenge is None:
            challenge = self.login_ok(api, account, then_verify=False)
        account.used_backup_codes.add(code)
        response = api.verify(challenge, backup_code=code)
        if response.status_code == 200:
            self.backup_codes_work = True
            account.succeeded(None)
            self.session_tokens.append(str(body_of(response)["session_token"]))
            return response
        self.count(account, response)
        self.backup_codes_work = False
        return None

    def wrong_password(self, api: Api, account: Account) -> httpx.Response:
        response = api.login(account.username, account.password + "-wrong")
        self.count(account, response)
        return response

    def wrong_code(self, api: Api, account: Account, challenge: str) -> httpx.Response:
        """A well-formed code that is wrong for every step near now (no fresh step needed)."""
        step = oracle.step_of(self.now)
        near = {oracle.code_at_step(account.secret, s) for s in range(step - 2, step + 3)}
        wrong = f"{(int(oracle.code_at_step(account.secret, step)) + 500000) % 1000000:06d}"
        while wrong in near:
            wrong = f"{(int(wrong) + 1) % 1000000:06d}"
        response = api.verify(challenge, wrong)
        self.count(account, response)
        return response

    def count(self, account: Account, response: httpx.Response) -> None:
        """Keep the pool's view in step with what the target judged."""
        if response.status_code == 401:
            account.failed(self.now, self.policy)
        else:
            self.note_lock(account, response)

    def note_lock(self, account: Account, response: httpx.Response) -> None:
        if response.status_code == 429:
            body = body_of(response) or {}
            retry = body.get("retry_after") if isinstance(body, dict) else None
            if not isinstance(retry, int):
                retry = int(self.policy.lock_length(max(account.locks, 1)))
            account.saw_lock(self.now, retry, self.policy)

    def lock(self, api: Api, account: Account) -> list[httpx.Response]:
        """Five wrong passwords: the fifth is judged and starts the lock (LOCK-1)."""
        answers = [self.wrong_password(api, account) for _ in range(self.policy.max_failures - 1)]
        account.lock_sent = self.now
        return [*answers, self.wrong_password(api, account)]

    def surely_locked(self, account: Account, length: float) -> bool:
        """Whether an answer received now was surely judged during the latest lock of `length`
        (a busy target may queue a request until after the lock has ended)."""
        assert self.clock is not None
        return self.now < account.lock_sent + length - self.clock.uncertainty

    # --- the pool -----------------------------------------------------------------------
    @contextlib.contextmanager
    def accounts(
        self,
        api: Api,
        count: int = 1,
        where: Callable[[Account], bool] | None = None,
        clean: bool = True,
        spends_step: bool = True,
        prefer: Callable[[Account], bool] | None = None,
    ) -> Iterator[list[Account]]:
        """Hand out `count` unlocked accounts; take them back after.

        `clean`: no failures counted (cases that count to the lock); otherwise up to
        FAILURE_BUDGET failures may already be counted, which saves a sign-in to reset them.
        `spends_step`: the case signs in with TOTP codes (it gets the account whose steps are
        oldest); a case that spends none gets the newest, leaving fresh steps to others.
        `prefer`: accounts for which it is true come first (among the usable ones).
        Cases running side by side each get their own accounts; one waits for another's.
        """
        taken: list[Account] = []
        ok = False
        try:
            with timed(ACCOUNT_WAIT):
                for _ in range(count):
                    taken.append(self.acquire(api, where, clean, spends_step, prefer))
            yield taken
            ok = True
        finally:
            with self.pool_changed:
                for account in taken:
                    account.in_use = False
                    account.holder = None
                    if not ok:
                        account.tainted = True
                self.pool_changed.notify_all()

    def acquire(
        self,
        api: Api,
        where: Callable[[Account], bool] | None = None,
        clean: bool = True,
        spends_step: bool = True,
        prefer: Callable[[Account], bool] | None = None,
    ) -> Account:
        assert self.pool is not None
        allowed = 0 if clean else FAILURE_BUDGET
        me = threading.get_ident()
        while True:
            with self.pool_changed:
                account = self._reserve(where, allowed, spends_step, me, prefer)
            now = self.now
            if account.is_locked(now):
                wait = account.locked_until - now
                if not self.may_wait(wait):
                    self._unreserve(account)
                    not_run(
                        f"every free account is locked for another {wait:.0f} s; "
                        "provide more accounts or run with --long"
                    )
                self.wait(wait, ACCOUNT_WAIT)
            elif account.is_fresh(now, allowed):
                return account
            else:
                self._reset(api, account)
            self._unreserve(account)

    def _reserve(
        self,
        where: Callable[[Account], bool] | None,
        allowed: int,
        spends_step: bool,
        me: int,
        prefer: Callable[[Account], bool] | None = None,
    ) -> Account:
        """The best free account, marked in use (call with `pool_changed` held); waits while
        the only matching accounts are held by cases running beside this one."""
        assert self.pool is not None
        while True:
            candidates = [
                a
                for a in self.pool.candidates(self.now, allowed, spends_step)
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
                    f"accounts of the profile ({len(self.pool)} provisioned); provide 8"
                )
            self.pool_changed.wait(POOL_POLL_S)

    def _unreserve(self, account: Account) -> None:
        with self.pool_changed:
            account.in_use = False
            account.holder = None
            self.pool_changed.notify_all()

    def _reset(self, api: Api, account: Account) -> None:
        """A successful sign-in clears failures (LOCK-4) and tells us the account's true state."""
        try:
            response = api.login(account.username, account.password)
            if response.status_code == 429:
                self.note_lock(account, response)
                return
            if response.status_code != 200:
                account.broken = True
                return
            response, _ = self.sign_in_response(
                api, account, any_factor=True, challenge=str(body_of(response)["challenge_token"])
            )
            api.logout(str(body_of(response)["session_token"]))
        except AssertionError:
            account.tainted = True
            if not account.is_locked(self.now):
                account.broken = True
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            account.broken = True

    def release_all(self) -> None:
        """Take back every account this thread still holds (a case that failed may leave some)."""
        assert self.pool is not None
        me = threading.get_ident()
        with self.pool_changed:
            for account in self.pool.accounts:
                if account.holder == me or account.holder is None:
                    account.in_use = False
                    account.holder = None
            self.pool_changed.notify_all()
