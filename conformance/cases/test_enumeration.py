"""LOGIN-3 (rev. 2): a locked unknown name stays locked however many other names are tried.

A server that keeps unknown names in a small table and evicts rows lets an attacker unlock a name
by trying others, while a real account stays locked: that difference tells which names exist.
Two things give such a table away: the locked name answers 401 while its lock lasts, or, once
its lock has ended, its next lock is as short as a first one (LOCK-7: a real account's second
lock without a successful verify in between lasts twice as long).

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import contextlib
import contextvars
from concurrent.futures import ThreadPoolExecutor

from conformance import requirement
from conformance.attack import (
    SPARE_ADDRESS_FIRST,
    Throttle,
    client,
    fresh_name,
    info_of,
    judged_login,
    require,
    source_addresses,
    throttle_of,
)
from conformance.blocking import blocked
from conformance.checks import describe
from conformance.model import Ends
from conformance.session import not_run

CHURN_NAMES = 32  # other names locked after the first (a 16-row table fell to 17)
CHURN_SOURCES = 8  # loopback source addresses that share the churn (each under the throttle)
CHECK_EVERY = 4  # X is asked for after every 4 other names
SIDE_BY_SIDE = 2  # a churn name's failures in flight at once (one name at a time)


Source = tuple[str | None, int]  # an address (None: the suite's own), the names it may lock


def _sources(base_url: str, throttle: Throttle | None, per_name: int) -> list[Source]:
    """Where the churn comes from: each source stays under the per-address throttle."""
    spare = source_addresses(base_url, CHURN_SOURCES, SPARE_ADDRESS_FIRST)
    if spare:
        budget = CHURN_NAMES if throttle is None else (throttle.max_failures - 1) // per_name
        return [(address, budget) for address in spare]
    own = CHURN_NAMES if throttle is None else (throttle.max_failures - 1) // per_name - 2
    return [(None, own)]


def _lock_name(base_url, verify, source: str | None, per_name: int) -> list[int]:
    """`per_name` wrong passwords for one fresh name from `source`, SIDE_BY_SIDE at a time on
    connections of their own (the target's hashes overlap; the name is still locked before the
    next is tried): the statuses answered."""
    name = fresh_name("churn")

    def send(http, count: int) -> list[int]:
        return [judged_login(http, name).status_code for _ in range(count)]

    with contextlib.ExitStack() as stack:
        clients = [
            stack.enter_context(client(base_url, verify, source))
            for _ in range(min(SIDE_BY_SIDE, per_name))
        ]
        shares = [len(range(k, per_name, len(clients))) for k in range(len(clients))]
        with ThreadPoolExecutor(len(clients)) as pool:
            sent = [
                pool.submit(contextvars.copy_context().run, send, http, count)
                for http, count in zip(clients, shares, strict=True)
            ]
            return [status for future in sent for status in future.result()]


def _lock(api, conformance, name: str, failures: int, length: float) -> tuple[Ends, int]:
    """Lock `name` with `failures` wrong passwords (those its count still lacks): when the lock
    of `length` ends (from the failure that began it and the 429 after), and its retry_after."""
    margin = float(getattr(conformance.clock, "uncertainty", 0.0))
    for n in range(failures):
        lock_sent = conformance.now
        response = judged_login(api.client, name)
        require(
            response.status_code == 401,
            f"wrong password {n + 1} for {name} answered {describe(response)}",
        )
    asked = conformance.now
    locked = judged_login(api.client, name)
    if locked.status_code != 429:  # the churn needs a locked name; test_login judges the rest
        blocked("LOCK-1", f"{failures} wrong passwords did not lock {name}: {describe(locked)}")
    retry = conformance.retry_of(locked)  # its form is LOCK-2's
    told = Ends.of_refusal(asked, conformance.now, retry, margin)
    return Ends(Ends.of_lock(lock_sent, asked, length, margin).earliest, told.latest), retry


@requirement("LOGIN-3", "trying other names must not unlock a locked unknown name")
def test_LOGIN_3_locked_unknown_name_survives_churn(api, conformance, notes):
    """Lock a fresh unknown name X (5 wrong passwords, the 6th attempt 429), then lock 32 other
    fresh names, one after another (5 wrong passwords each, two at a time, from 127.0.0.10-17
    in turn on a loopback target so that no address reaches a per-address throttle), asking for
    X after every 4: while X's lock surely lasts, X must answer 429 (an answer that came after
    the lock could have ended is no evidence: a 401 then counts towards X's next lock). Then, where
    /api/info shows `escalation: "double"` and the wait is allowed, wait until X's lock has
    surely ended (the 429's retry_after from when it came) and lock X again:
    its `retry_after` must be over 1.5 x `duration_s` (a second lock, twice as long, as a real
    account's would be), not a first lock's again.

    Off loopback, with a `throttle` in /api/info, only as many names as the throttle lets one
    address try are locked (noted). Not run when neither check could be made in full (X's lock
    ended early in the churn on a slow target, and no second lock could be asked for)."""
    base_url, verify = conformance.target.base_url, conformance.verify
    info = info_of(api.client)
    lockout = info.get("lockout") or {}
    per_name = int(lockout.get("max_failures", 5))
    duration = float(lockout.get("duration_s", 300))
    sources = _sources(base_url, throttle_of(info), per_name)
    planned = min(CHURN_NAMES, sum(budget for _, budget in sources))
    if planned < 1:
        not_run(f"the per-address throttle {throttle_of(info)} leaves no name to churn from here")
    # The failures this address sends fit under its throttle before they start (the model knows
    # what the run sent before): a wait in the churn could outlast X's lock.
    own_names = planned if sources[0][0] is None else 0
    conformance.make_room(per_name * (1 + own_names))
    locked = fresh_name("locked")
    ends, _ = _lock(api, conformance, locked, per_name, duration)
    # X's checks answered 401 after its lock could have ended: no evidence either way, and on a
    # target whose lock had ended, each is the first failure X's count holds towards its next.
    churned, while_locked, carried, answers = 0, 0, 0, {}
    # One name after another, each locked before the next is tried: names left half-counted
    # would be what a table that evicts unlocked rows first gives up instead of X.
    for n in range(planned):
        for status in _lock_name(base_url, verify, sources[n % len(sources)][0], per_name):
            answers[status] = answers.get(status, 0) + 1
        churned += 1
        if churned % CHECK_EVERY and churned < planned or conformance.now >= ends.earliest:
            continue
        check = judged_login(api.client, locked)  # a 503 `busy` is no answer about X
        if check.status_code == 401 and not ends.in_force_when_answered(conformance.now):
            carried += 1
        elif ends.in_force_when_answered(conformance.now):
            require(
                check.status_code == 429,
                f"a locked unknown name answered {describe(check)} after {churned} other "
                "unknown names were locked, while its lock still lasts: the lock was "
                "evicted, and a real account would still answer 429 (an enumeration oracle)",
            )
            while_locked = churned
    counts = ", ".join(f"{n} x {status}" for status, n in sorted(answers.items()))
    where = ", ".join(sorted({s or "the suite's address" for s, _ in sources}))
    notes.append(
        f"locked {churned} other fresh names ({churned * per_name} wrong passwords from {where}: "
        f"{counts}); the first answered 429 while its lock lasted, through {while_locked} of them"
    )
    if carried:
        notes.append(
            "a check on it was answered 401 after its lock could have ended: no evidence, and "
            "counted towards its next lock"
        )
    second = _second_lock(api, conformance, locked, per_name - carried, duration, ends, notes)
    if planned < CHURN_NAMES:
        notes.append(f"only {planned} names: the per-address throttle bounds one address")
    if while_locked < churned and not second:
        not_run(
            f"the lock of a fresh name ({duration:.0f} s) ended after {while_locked} of "
            f"{churned} other names were locked (the target is too slow for its lockout), and "
            "no second lock could be checked (no `escalation: double`, or the wait needs --long)"
        )


def _second_lock(api, conformance, name, failures, duration, ends: Ends, notes) -> bool:
    """After the churn, X's next lock must be a second lock (LOCK-7 doubles it), as a real
    account's would: a first lock again means X's row was evicted. `failures`: the wrong
    passwords X's count lacks (a check answered 401 after the lock could end counted). Its first
    is sent once the first lock has surely ended. False when not checked."""
    escalation = (info_of(api.client).get("lockout") or {}).get("escalation")
    wait = ends.left(conformance.now)
    if escalation != "double" or not conformance.may_wait(wait):
        return False
    conformance.wait(wait)
    conformance.make_room(failures)
    if failures < 1:
        return False  # the checks locked X again already: nothing is left to ask
    _, retry = _lock(api, conformance, name, failures, 2 * duration)
    notes.append(f"after its lock ended, it was locked again: retry_after {retry} s")
    require(
        retry > 1.5 * duration,
        f"after other names were tried, a locked unknown name's next lock lasts {retry} s, as "
        f"long as a first lock ({duration:.0f} s): its history was evicted, while a real "
        "account's second lock lasts twice as long (LOCK-7), which tells the names apart",
    )
    return True
