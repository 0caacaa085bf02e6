"""LOGIN-3 (rev. 2): a locked unknown name stays locked however many other names are tried.

A server that keeps unknown names in a small table and evicts rows lets an attacker unlock a name
by trying others, while a real account stays locked: that difference tells which names exist.
"""

from __future__ import annotations

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
from conformance.checks import describe, expect_locked
from conformance.session import not_run

CHURN_NAMES = 32  # other names locked while the first stays locked (a 16-row table fell to 17)
CHURN_SOURCES = 8  # loopback source addresses that share the churn (each under the throttle)


Source = tuple[str | None, int]  # an address (None: the suite's own), the names it may lock


def _sources(base_url: str, throttle: Throttle | None, per_name: int) -> list[Source]:
    """Where the churn comes from: each source stays under the per-address throttle."""
    spare = source_addresses(base_url, CHURN_SOURCES, SPARE_ADDRESS_FIRST)
    if spare:
        budget = CHURN_NAMES if throttle is None else (throttle.max_failures - 1) // per_name
        return [(address, budget) for address in spare]
    own = CHURN_NAMES if throttle is None else (throttle.max_failures - 1) // per_name - 1
    return [(None, own)]


def _lock_name(base_url, verify, source: str | None, per_name: int) -> list[int]:
    """`per_name` wrong passwords for one fresh name from `source`: the statuses answered."""
    name = fresh_name("churn")
    with client(base_url, verify, source) as http:
        return [judged_login(http, name).status_code for _ in range(per_name)]


@requirement("LOGIN-3", "MUST", "trying other names must not unlock a locked unknown name")
def test_LOGIN_3_locked_unknown_name_survives_churn(api, conformance, notes):
    """Lock a fresh unknown name X (5 wrong passwords, the 6th attempt 429), then lock 32 other
    fresh names (5 wrong passwords each, 8 at a time from 127.0.0.10-17 on a loopback target so
    that no address reaches a per-address throttle), asking for X after every 8: while X's lock
    surely lasts, X must answer 429. Off loopback, with a `throttle` shown in /api/info, only as
    many names as the throttle lets one address try are locked (noted). Not run when X's lock
    ends before the churn is done (a target too slow for its own lockout)."""
    base_url, verify = conformance.target.base_url, conformance.verify
    info = info_of(api.client)
    lockout = info.get("lockout") or {}
    per_name = int(lockout.get("max_failures", 5))
    duration = float(lockout.get("duration_s", 300))
    uncertainty = float(getattr(conformance.clock, "uncertainty", 0.0))
    locked = fresh_name("locked")
    for n in range(per_name):
        lock_sent = conformance.now
        response = judged_login(api.client, locked, conformance.wait)
        require(
            response.status_code == 401,
            (f"wrong password {n + 1} for a fresh unknown name answered {describe(response)}"),
        )
    expect_locked(judged_login(api.client, locked, conformance.wait))
    lock_ends = lock_sent + duration - uncertainty
    sources = _sources(base_url, throttle_of(info), per_name)
    planned = min(CHURN_NAMES, sum(budget for _, budget in sources))
    if planned < 1:
        not_run(f"the per-address throttle {throttle_of(info)} leaves no name to churn from here")
    churned, answers, used = 0, {}, dict.fromkeys(range(len(sources)), 0)
    with ThreadPoolExecutor(len(sources)) as pool:
        while churned < planned:
            batch = [i for i, (_, budget) in enumerate(sources) if used[i] < budget]
            batch = batch[: planned - churned]
            for statuses in pool.map(
                lambda i: _lock_name(base_url, verify, sources[i][0], per_name), batch
            ):
                for status in statuses:
                    answers[status] = answers.get(status, 0) + 1
            for i in batch:
                used[i] += 1
            churned += len(batch)
            check = api.client.post(
                "/api/auth/login", json={"username": locked, "password": "wrong-again"}
            )
            if conformance.now >= lock_ends:
                not_run(
                    f"the lock of a fresh name ({duration:.0f} s) ended after {churned} of "
                    f"{planned} other names were locked: the target is too slow for this check "
                    "with its lockout duration"
                )
            require(
                check.status_code == 429,
                (
                    f"a locked unknown name answered {describe(check)} after {churned} other "
                    "unknown names were locked, while its lock still lasts: the lock was evicted, "
                    "and a real account would still answer 429 (an enumeration oracle)"
                ),
            )
    counts = ", ".join(f"{n} x {status}" for status, n in sorted(answers.items()))
    where = ", ".join(sorted({s or "the suite's address" for s, _ in sources}))
    notes.append(
        f"locked {churned} other fresh names ({churned * per_name} wrong passwords from {where}: "
        f"{counts}); the first stayed locked"
    )
    if planned < CHURN_NAMES:
        notes.append(
            f"only {planned} names: the per-address throttle bounds what one address may try"
        )
