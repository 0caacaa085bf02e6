"""Mutants of the small correct server (attack_server.py): one rule broken each, and the case that
must catch it. Each is a subclass that overrides one method; nothing in the servers is edited.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.tests.attack_server import Answer, AttackServer, NameState, error

# The cases, by requirement (a requirement may have other cases, which need accounts).
CASES = {
    "INPUT-6": "test_INPUT_6_login_flood_does_not_starve_others",
    "INPUT-7": "test_INPUT_7_tricklers_do_not_hold_another_address",
    "INPUT-8": "test_INPUT_8_http_framing",
    "LOCK-8": "test_LOCK_8_per_address_throttle",
    "LOGIN-3": "test_LOGIN_3_locked_unknown_name_survives_churn",
}
# Server settings each case is judged with: the flood needs hashes slow enough to saturate two
# workers, and no throttle (it would turn the flood into cheap 429s: one rule at a time); the
# trickler case a server that serves one connection at a time, as the board does.
SETTINGS: dict[str, dict[str, Any]] = {
    "INPUT-6": {"hash_s": 0.2, "throttle": None},
    "INPUT-7": {"one_slot": True},
}


class EvictingNames(AttackServer):
    """LOGIN-3: unknown names live in a 16-row table; the oldest row makes way for a new one."""

    def name_table(self) -> OrderedDict[str, NameState]:
        class Capped(OrderedDict[str, NameState]):
            def __setitem__(self, key: str, value: NameState) -> None:
                super().__setitem__(key, value)
                while len(self) > 16:
                    self.popitem(last=False)

        return Capped()


class EndedLocksForgotten(AttackServer):
    """LOGIN-3: an unknown name's row goes when its lock ends (a table that keeps only locked
    rows): its next lock is a first lock again, while a real account's is twice as long."""

    def lock_ended(self, state: NameState) -> NameState:
        return NameState()


class HashingUnbounded(AttackServer):
    """INPUT-6: logins queue without bound (never 503) in the one pool that serves everything,
    as a thread-pool web framework does with sync endpoints."""

    async def hashed(self) -> bool:
        await self.loop.run_in_executor(self.pool, time.sleep, self.hash_s)
        return True

    async def cheap(self, answer: Callable[[], Answer]) -> Answer:
        return await self.loop.run_in_executor(self.pool, answer)


class NoThrottle(AttackServer):
    """LOCK-8: /api/info shows a per-address limit that is never enforced."""

    def throttled(self, peer: str, now: float) -> int | None:
        return None


class VerifyNotThrottled(AttackServer):
    """LOCK-8: the address limit guards logins only: a throttled address may still verify."""

    async def _answer(self, method: str, path: str, body: bytes, peer: str) -> Answer:
        if path == "/api/auth/verify" and method == "POST":
            return error(401, "invalid_challenge")
        return await super()._answer(method, path, body, peer)


class FirstComeFirstServed(AttackServer):
    """INPUT-7: one connection at a time in arrival order: tricklers that re-connect as soon as
    they are dropped keep the only slot from a client at another address."""

    def next_connection(self) -> int:
        return 0


class AnyVersion(AttackServer):
    """INPUT-8: `GET / HTTP/2.0` and `HTTP/9.9` are served as HTTP/1.1."""

    def version_ok(self, version: bytes) -> bool:
        return True


class ControlCharactersAccepted(AttackServer):
    """INPUT-8: NUL, bare CR and bare LF pass in header values."""

    def value_ok(self, value: bytes) -> bool:
        return True


class BothLengthsKeptAlive(AttackServer):
    """INPUT-8: Content-Length wins over Transfer-Encoding and the connection stays open, so a
    request smuggled after the body is served."""

    def both_lengths_refused(self) -> bool:
        return False


class LenientContentLength(AttackServer):
    """INPUT-8: Content-Length read with int(): `+53`, `5_3`, Arabic-Indic digits are numbers."""

    def content_length(self, value: bytes) -> int | None:
        try:
            return int(value.decode("utf-8"))
        except ValueError:
            return None


class HugeLengthIs400(AttackServer):
    """INPUT-8: a Content-Length over the limit is refused 400, not 413 (the emulator's answer to
    twenty digits)."""

    def too_large_status(self) -> int:
        return 400


@dataclass(frozen=True)
class AttackMutant:
    name: str
    server: type[AttackServer]
    fails: str
    settings: dict[str, Any] = field(default_factory=dict)


MUTANTS = [
    AttackMutant("churn eviction (16-row table of unknown names)", EvictingNames, "LOGIN-3"),
    AttackMutant("ended locks forgotten (no second lock)", EndedLocksForgotten, "LOGIN-3"),
    AttackMutant("unbounded hashing in the shared pool", HashingUnbounded, "INPUT-6"),
    AttackMutant("no per-address throttle", NoThrottle, "LOCK-8"),
    AttackMutant("a throttled address may verify", VerifyNotThrottled, "LOCK-8"),
    AttackMutant("tricklers hold the only slot", FirstComeFirstServed, "INPUT-7"),
    AttackMutant("any HTTP version served", AnyVersion, "INPUT-8"),
    AttackMutant("control characters in header values", ControlCharactersAccepted, "INPUT-8"),
    AttackMutant(
        "Content-Length with Transfer-Encoding kept alive", BothLengthsKeptAlive, "INPUT-8"
    ),
    AttackMutant("Content-Length parsed by int()", LenientContentLength, "INPUT-8"),
    AttackMutant("huge Content-Length answered 400", HugeLengthIs400, "INPUT-8"),
]


# --- correct, but slow: an answer that came after a lock or window could end judges nothing ----
class VerifyQueued(AttackServer):
    """Correct; a verify waits longer than the throttle window before it is judged (a busy
    target's queue), so the window has always ended by then: LOCK-8 cannot be judged."""

    verify_delay_s = 2.5

    async def _answer(self, method: str, path: str, body: bytes, peer: str) -> Answer:
        if path == "/api/auth/verify":
            await asyncio.sleep(self.verify_delay_s)
        return await super()._answer(method, path, body, peer)


class LockedNamesQueued(AttackServer):
    """Correct; a login for a locked name waits 1.5 s before it is judged, so a check sent just
    before the lock's end is judged after it (401, the first failure towards the next lock)."""

    locked_delay_s = 1.5

    async def login(self, name: str, peer: str) -> Answer:
        state = self.names.get(name)
        if state is not None and state.locked_until > self.now():
            await asyncio.sleep(self.locked_delay_s)
        return await super().login(name, peer)


@dataclass(frozen=True)
class SlowCorrect:
    name: str
    server: type[AttackServer]
    case: str
    verdict: str  # what the case must say of it: passed, or not-run (never failed)
    settings: dict[str, Any] = field(default_factory=dict)


SLOW_CORRECT = [
    SlowCorrect("verify judged after the window", VerifyQueued, "LOCK-8", "not-run",
                {"throttle": (50, 2)}),
    SlowCorrect("locked names judged late", LockedNamesQueued, "LOGIN-3", "passed"),
]  # fmt: skip
