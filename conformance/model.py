"""The suite's picture of the target, learnt from every exchange it sees, never kept by hand.

Each request/response pair passes through `TargetModel.observe` (the recorder calls it): a judged
failure counts, a 429 says how long a lock lasts, a 200 from verify resets the account and says
which TOTP step (or backup code) the target has now spent. The lockout arithmetic (DECISIONS:
five failures lock, the k-th lock since a success lasts duration * 2^(k-1)) lives here only.
A 503 (`busy`, `clock_not_synced`) and a 4xx for malformed input change nothing, as on the target.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance import oracle
from conformance.profile import AccountSpec

MAX_FAILURES = 5
LOCK_CAP_S = 86400
LOCK_SLACK_S = 1.0  # a lock lasts through its last whole second (DECISIONS: retry_after)
LOGIN, VERIFY = "/api/auth/login", "/api/auth/verify"
FAILURES = ("invalid_credentials", "invalid_code")  # the answers that count (DECISIONS)


@dataclass(frozen=True)
class LockPolicy:
    """What `/api/info` says about lockout."""

    duration_s: float
    escalation: str | None = None
    max_failures: int = MAX_FAILURES

    def lock_length(self, nth: int) -> float:
        """Length of the nth lock since the last successful verify (1-based, LOCK-7)."""
        if self.escalation == "double":
            return min(self.duration_s * 2 ** min(max(nth, 1) - 1, 32), LOCK_CAP_S)
        return self.duration_s

    def level_for(self, retry_after: float) -> int:
        """The fewest locks in a row whose last is at least `retry_after` long."""
        level = 1
        while level < 32 and self.lock_length(level) < retry_after - 1:
            level += 1
        return level

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> LockPolicy:
        lockout = info.get("lockout") or {}
        return cls(float(lockout.get("duration_s", 300)), lockout.get("escalation"))


@dataclass(frozen=True)
class Ends:
    """When a lock or a throttle window ends, as the suite can know it (target time): no earlier
    than `earliest`, no later than `latest`. A check that needs it still in force is evidence only
    when its answer came before `earliest`; one that needs it over, only when sent after `latest`.
    """

    earliest: float
    latest: float

    @classmethod
    def of_lock(cls, sent: float, received: float, length: float, margin: float = 0.0) -> Ends:
        """A lock of `length` begun by a failure sent at `sent` and answered at `received`."""
        return cls(sent + length - margin, received + length + LOCK_SLACK_S + margin)

    @classmethod
    def of_refusal(cls, sent: float, received: float, retry: int, margin: float = 0.0) -> Ends:
        """From a 429 whose `retry_after` is `retry` (DECISIONS: ceil of the seconds left)."""
        return cls(sent + retry - 1 - margin, received + retry + margin)

    def in_force_when_answered(self, received: float) -> bool:
        """Whether a request answered at `received` was surely judged while it lasted."""
        return received < self.earliest

    def over_when_sent(self, sent: float) -> bool:
        """Whether a request sent at `sent` surely found it ended."""
        return sent >= self.latest

    def left(self, at: float) -> float:
        """Seconds from `at` until it has surely ended (0: already)."""
        return max(0.0, self.latest - at)


@dataclass(frozen=True)
class Throttle:
    """LOCK-8: at most `max_failures` failures from one address within `window_s` seconds."""

    max_failures: int
    window_s: float

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Throttle | None:
        raw = info.get("throttle")
        if not isinstance(raw, dict):
            return None
        limit, window = raw.get("max_failures"), raw.get("window_s")
        if not isinstance(limit, int) or not isinstance(window, int | float) or limit < 1:
            return None
        return cls(limit, float(window))


@dataclass
class AccountState:
    """One account as the target holds it, as far as this run has seen."""

    failures: int = 0
    locks: int = 0  # escalation level: locks since the last success
    locked_until: float = 0.0  # target time by which the lock has surely ended
    lock_sent: float = 0.0  # when the failure that started the latest lock was sent
    last_step: int | None = None  # the newest step the target is known to have spent
    # Whether `last_step` is the target's own last accepted step (a code of this run was taken,
    # or the newest step the target could take was refused), not only a step it is past: what
    # others spent before this run is learnt by refusals, oldest first (reconcile.py).
    last_step_exact: bool = False
    spent_backup_codes: set[str] = field(default_factory=set)
    known: bool = False  # a success was seen this run: the counts above are the target's
    lock_seen: float = 0.0  # when (local) this run saw the latest lock begin, or first saw it
    success_span: tuple[float, float] = (0.0, 0.0)  # sent..received (local) of the last success
    failure_span: tuple[float, float] = (0.0, 0.0)  # and of the latest failure

    def is_locked(self, now: float) -> bool:
        return now < self.locked_until


@dataclass(frozen=True)
class Seen:
    """One exchange reduced to what the model needs (from httpx, requests or a raw socket)."""

    path: str
    request: Any  # the JSON request body, or None
    status: int
    answer: Any  # the JSON response body, or None
    sent: float  # target time
    received: float
    # Local monotonic times of the same: the order of exchanges, also when the target's clock
    # stands still between the suite's moves (a movable clock).
    span: tuple[float, float] = (0.0, 0.0)


def _overlap(seen: Seen, span: tuple[float, float]) -> bool:
    return seen.span[0] < span[1] and span[0] < seen.span[1]


def parse(raw: bytes | str | None) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None


class TargetModel:
    def __init__(
        self,
        specs: Iterable[AccountSpec],
        policy: LockPolicy,
        now: Callable[[], float],
        throttle: Throttle | None = None,
    ) -> None:
        self.specs = {spec.username: spec for spec in specs}
        self.states = {name: AccountState() for name in self.specs}
        self.policy = policy
        self.throttle = throttle
        self.now = now
        self.challenges: dict[str, str] = {}  # challenge token -> username
        self.issued: list[tuple[str, str]] = []  # (challenge token, username): all of this run
        self.failures_at: deque[float] = deque()  # this run's judged failures (LOCK-8)
        self.throttled_until = 0.0
        self.lock = threading.RLock()

    def observe(self, seen: Seen) -> None:
        if seen.path not in (LOGIN, VERIFY) or not isinstance(seen.request, dict):
            return
        answer = seen.answer if isinstance(seen.answer, dict) else {}
        with self.lock:
            if seen.path == LOGIN:
                name = seen.request.get("username")
                if seen.status == 200 and isinstance(answer.get("challenge_token"), str):
                    self.challenges[answer["challenge_token"]] = str(name)
                    self.issued.append((answer["challenge_token"], str(name)))
            else:
                name = self.challenges.get(str(seen.request.get("challenge_token")))
            state = self.states.get(name) if isinstance(name, str) else None
            # A login refused 401 is a failure whatever its error says (a target that names
            # unknown users breaks LOGIN-3, and still counts them against the address: LOCK-8).
            if seen.status == 401 and (answer.get("error") in FAILURES or seen.path == LOGIN):
                self._failure(state, seen)
            elif seen.status == 429:
                self._refused(state, seen, answer.get("retry_after"))
            elif seen.status == 200 and state is not None:
                self._unlocked(state, seen)
                if seen.path == VERIFY:
                    self._success(name, state, seen)

    # --- the lockout arithmetic ------------------------------------------------------------
    def _failure(self, state: AccountState | None, seen: Seen) -> None:
        self.failures_at.append(seen.received)
        if state is None:
            return
        if state.is_locked(seen.sent) and seen.span[0] < state.lock_seen:
            return  # sent beside the failures that locked: judged before the lock, counted in it
        self._unlocked(state, seen)  # judged at all: not locked then
        self._spent_on_refusal(state, seen)
        if _overlap(seen, state.success_span):
            state.known = False  # which the target judged first is unknown: count again
        state.failure_span = seen.span
        state.failures += 1
        if state.failures >= self.policy.max_failures:
            state.locks += 1
            state.failures = 0
            state.lock_sent = seen.sent
            state.lock_seen = seen.span[1]
            length = self.policy.lock_length(state.locks)
            state.locked_until = seen.received + length + LOCK_SLACK_S

    def _refused(self, state: AccountState | None, seen: Seen, retry_after: Any) -> None:
        retry = retry_after if isinstance(retry_after, int) else None
        if self.address_throttled(seen.sent):
            self.throttled_until = seen.received + (retry or self.throttle.window_s)  # type: ignore[union-attr]
            return
        if state is None:
            return
        if retry is None:
            retry = int(self.policy.lock_length(state.locks or 1))
        state.failures = 0
        state.locks = max(state.locks, self.policy.level_for(retry))
        until = seen.received + retry + LOCK_SLACK_S / 2
        if not state.is_locked(seen.sent):  # a lock this run did not see start
            state.lock_sent = seen.sent + retry - 1 - self.policy.lock_length(state.locks)
            state.lock_seen = seen.span[1]
        state.locked_until = max(state.locked_until, until) if state.locked_until else until

    @staticmethod
    def _unlocked(state: AccountState, seen: Seen) -> None:
        """An answer that was judged: any lock had ended, and its counter with it."""
        if state.locked_until and state.locked_until > seen.sent:
            state.failures = 0
        state.locked_until = 0.0

    def _success(self, name: str, state: AccountState, seen: Seen) -> None:
        state.failures = 0
        state.locks = 0
        # A failure judged beside it may have come after it on the target: count again then.
        state.known = not _overlap(seen, state.failure_span)
        state.success_span = seen.span
        code, backup = seen.request.get("totp_code"), seen.request.get("backup_code")
        if isinstance(backup, str):
            state.spent_backup_codes.add(backup)
        step = self.step_of_code(name, code, seen) if isinstance(code, str) else None
        if step is None and isinstance(code, str):
            # Taken, but it is no code of ours (the target read it some other way): some
            # step was spent; the latest it can be is the safe guess (TOTP-4).
            step = oracle.step_of(seen.received) + 1
        if step is not None:
            state.last_step = step if state.last_step is None else max(state.last_step, step)
            state.last_step_exact = state.last_step == step
        self.challenges.pop(str(seen.request.get("challenge_token")), None)

    def _spent_on_refusal(self, state: AccountState, seen: Seen) -> None:
        """A refused backup code of the profile is spent; a refused code of a step inside the
        window at both ends of the exchange says the target has accepted that step or a later
        one (TOTP-4) before this run looked."""
        if seen.path != VERIFY:
            return
        backup, code = seen.request.get("backup_code"), seen.request.get("totp_code")
        if isinstance(backup, str):
            state.spent_backup_codes.add(backup)
        name = self.challenges.get(str(seen.request.get("challenge_token")), "")
        step = self.step_of_code(name, code, seen) if isinstance(code, str) else None
        window = range(oracle.step_of(seen.received) - 1, oracle.step_of(seen.sent) + 2)
        if step is None or step not in window:
            return
        if state.last_step is None or step > state.last_step:
            state.last_step = step
            # Only the newest step the target could take then says where it stands exactly.
            state.last_step_exact = step == window[-1] == oracle.step_of(seen.received) + 1

    def step_of_code(self, name: str, code: str, seen: Seen) -> int | None:
        spec = self.specs.get(name)
        if spec is None:
            return None
        low, high = oracle.step_of(seen.sent) - 2, oracle.step_of(seen.received) + 2
        for step in range(high, low - 1, -1):
            if oracle.code_at_step(spec.totp_secret, step) == code:
                return step
        return None

    # --- LOCK-8: this run's failures from its address ----------------------------------------
    def address_throttled(self, at: float) -> bool:
        """Whether the address limit was reached when a request was sent at `at`."""
        if self.throttle is None:
            return False
        if at < self.throttled_until:
            return True
        return self.failures_in_window(at) >= self.throttle.max_failures

    def failures_in_window(self, at: float) -> int:
        assert self.throttle is not None
        while self.failures_at and self.failures_at[0] <= at - self.throttle.window_s - 1:
            self.failures_at.popleft()
        return sum(1 for t in self.failures_at if t > at - self.throttle.window_s - 1)

    def room_in(self, failures: int, at: float) -> float:
        """Seconds until `failures` more fit under the address limit (0: now)."""
        if self.throttle is None:
            return 0.0
        with self.lock:
            wait = max(0.0, self.throttled_until - at)
            times = sorted(self.failures_at)
            over = len([t for t in times if t > at - self.throttle.window_s - 1])
            over += failures - (self.throttle.max_failures - 1)
            if over > 0:
                recent = [t for t in times if t > at - self.throttle.window_s - 1]
                oldest = recent[min(over, len(recent)) - 1] if recent else at
                wait = max(wait, oldest + self.throttle.window_s + 1 - at)
            return wait

    def state(self, name: str) -> AccountState:
        return self.states[name]
