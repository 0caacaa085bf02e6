"""LOCK: lockout and rate limiting.

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from conformance import (
    LOCKS_ACCOUNT,
    RUNS_ALONE,
    SEVERAL_ACCOUNTS,
    SPENDS_STEPS,
    WAITS_FOR_EXPIRY,
    requirement,
)
from conformance.api import body_of, ends_challenge
from conformance.attack import judged_login
from conformance.blocking import blocked
from conformance.checks import describe, expect_error, expect_locked, expect_status
from conformance.model import Ends
from conformance.session import not_run
from conformance.timing import RESTART, timed

CONCURRENT_ATTEMPTS = 10


@requirement(
    "LOCK-1",
    "5 failures of either factor lock the account, even for the owner",
    needs=(SPENDS_STEPS, LOCKS_ACCOUNT),
)
def test_LOCK_1_five_failures_lock(api, conformance, clean_account):
    account = clean_account
    # The right password comes before every failure (it must not count, LOCK-4, nor reset).
    # The challenge then ages over five failures: when the suite was slower than its TTL, the
    # target rightly refuses it as invalid_challenge, and the login below still judges.
    # Both kinds of failure count toward the same five: four wrong codes (they cost the target
    # no hash) and a wrong password.
    issued = conformance.now
    challenge, code, _ = conformance.challenge_with_code(api, account)
    answers = conformance.wrong_codes(api, account, challenge, 4)
    if any(ends_challenge(r) for r in answers):
        not_run(
            "the challenge lapsed before its wrong codes were judged, so they did not count "
            "(the target answered too slowly for this check)"
        )
    answers += conformance.wrong_passwords(api, account, 1)
    for n, response in enumerate(answers, start=1):
        assert response.status_code == 401, (
            f"failure {n} of 5 was not judged 401: {describe(response)}"
        )
    alive = conformance.alive(issued)
    verify = api.verify(challenge, code)
    if alive or verify.status_code == 200:
        conformance.not_locked_then(account, "the right code after 5 failures", verify)
    assert verify.status_code != 200, "after 5 failures the right code was accepted"
    if alive or verify.status_code == 429:
        expect_status(verify, 429)
    login = api.login(account.username, account.password)
    conformance.not_locked_then(account, "the right password after 5 failures", login)
    assert login.status_code != 200, "after 5 failures the right password was accepted"
    conformance.retry_of(login)


@requirement(
    "LOCK-2",
    "a locked account says so, and for how long (Retry-After)",
    needs=(SPENDS_STEPS, LOCKS_ACCOUNT),
)
def test_LOCK_2_locked_answer(api, conformance, lockable_account):
    account = lockable_account
    issued = conformance.now
    challenge, code, _ = conformance.challenge_with_code(api, account)
    conformance.lock(api, account)
    locked_at = conformance.now
    duration = conformance.policy.lock_length(account.locks or 1)
    login = conformance.locked_answer(api, account)
    retry = expect_locked(login)
    elapsed = conformance.now - locked_at
    assert retry <= duration - elapsed + 1 + conformance.clock.uncertainty + 1, (
        f"retry_after {retry} exceeds the time left of a {duration:.0f} s lock + 1"
    )
    assert retry >= duration - elapsed - 3 - conformance.clock.uncertainty, (
        f"retry_after {retry} is far shorter than the {duration:.0f} s lock"
    )
    alive = conformance.alive(issued)
    verify = api.verify(challenge, code)
    if alive or verify.status_code == 200:
        conformance.not_locked_then(account, "the right code during the lock", verify)
    assert verify.status_code != 200, "a locked account passed verify with the right code"
    if alive or verify.status_code == 429:  # else the challenge lapsed while the suite worked
        expect_locked(verify)


@requirement(
    "LOCK-3",
    "a lock ends on time: attempts do not extend it; then count from 0",
    needs=(WAITS_FOR_EXPIRY, LOCKS_ACCOUNT),
)
def test_LOCK_3_lock_ends_and_resets(api, conformance, lockable_account, notes):
    account = lockable_account
    duration = conformance.policy.lock_length(account.locks + 1)
    conformance.require_wait(duration + 2, "the end of a lock")
    conformance.lock(api, account)
    locked_at = conformance.now
    first_retry = conformance.retry_of(conformance.locked_answer(api, account))
    conformance.wait(duration / 2)
    late = 0  # attempts answered after the lock may have ended: a 401 then proves nothing
    for _ in range(3):
        response = api.login(account.username, account.password + "-wrong")
        if response.status_code != 429 and not conformance.surely_locked(account, duration):
            expect_error(response, 401, "invalid_credentials")
            late += 1
            continue
        retry = conformance.retry_of(response)
        assert retry <= first_retry - duration / 2 + 2 + conformance.clock.uncertainty, (
            f"retry_after grew from {first_retry} to {retry} after attempts during the lock"
        )
    if late:
        notes.append(f"{late} of 3 attempts during the lock were answered after it could end")
    conformance.wait_until(locked_at + duration + 1.5)
    # The first attempt after the lock is the right password: its answer shows the lock ended.
    # Then failures up to one short of the lock (wrong codes: no hash) and the right password
    # again show the count restarted at 0 (else it would lock).
    response = api.login(account.username, account.password)
    assert response.status_code != 429, (
        f"the {duration:.0f} s lock had not ended {duration + 1.5:.1f} s later "
        f"(attempts during a lock must not extend it): {describe(response)}"
    )
    conformance.succeeded(response, "the right password after the lock ended")
    counted = account.failures  # the late attempts above, if any
    limit = conformance.policy.max_failures - 1
    challenge = str(body_of(response)["challenge_token"])
    for n, response in enumerate(conformance.fail_to(api, account, limit, challenge), counted):
        assert response.status_code == 401, (
            f"after the lock ended, failure {n + 1} answered {describe(response)}: "
            "the counter did not restart at 0"
        )
    again = api.login(account.username, account.password)
    assert again.status_code != 429, (
        f"after the lock ended, {limit} failures locked again: the counter did not "
        f"restart at 0 ({describe(again)})"
    )
    expect_status(again, 200)
    if late == 3:
        not_run(
            "all 3 attempts during the lock were answered after it could have ended: whether "
            "attempts extend a lock was not judged (the target answered too slowly)"
        )


@requirement(
    "LOCK-4",
    "only a successful verify resets the count, not the password alone",
    needs=(LOCKS_ACCOUNT,),
)
def test_LOCK_4_only_verify_resets(api, conformance, lockable_account):
    account = lockable_account
    # Failures up to one short of the lock (those the account carries count), then a sign-in.
    # The failures are wrong codes (they count as passwords do, and cost the target no hash).
    limit = conformance.policy.max_failures - 1
    issued = conformance.now
    challenge = conformance.login_ok(api, account, then_verify=False)
    failures = conformance.fail_to(api, account, limit, challenge)
    for response in failures:
        expect_status(response, 401)
    if not conformance.alive(issued) or any(ends_challenge(r) for r in failures):
        challenge = None  # the sign-in takes a new one
    conformance.sign_in_on(api, account, any_factor=True, challenge=challenge)
    challenge = conformance.login_ok(api, account, then_verify=False)
    for n, response in enumerate(conformance.fail_to(api, account, limit, challenge)):
        assert response.status_code == 401, (
            f"a successful verify did not reset the counter: failure {n + 1} after it "
            f"answered {describe(response)}"
        )
    # The right password alone, then the 5th failure.
    right = api.login(account.username, account.password)
    expect_status(right, 200)
    response = conformance.wrong_code(api, account, str(body_of(right)["challenge_token"]))
    expect_status(response, 401)
    locked = api.login(account.username, account.password)
    conformance.not_locked_then(account, "the right password after the 5th failure", locked)
    if locked.status_code != 429:
        conformance.lockout_works(api, account)  # LOCK-1's rule, before blaming the password
    assert locked.status_code == 429, (
        "4 failures, a right password, 1 failure: the 6th attempt must be locked "
        f"(a right password alone must not reset the counter), got {describe(locked)}"
    )


def _race(clients: list[httpx.Client], send) -> list[httpx.Response | Exception]:
    barrier = threading.Barrier(len(clients))

    def one(index: int) -> httpx.Response | Exception:
        barrier.wait()
        try:
            return send(clients[index], index)
        except httpx.HTTPError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(one, range(len(clients))))


@requirement(
    "LOCK-5",
    "simultaneous attempts cannot race past the lock or reuse a code",
    needs=(LOCKS_ACCOUNT,),
)
def test_LOCK_5_concurrent_attempts(api, conformance, account):
    clients = [api.new_client() for _ in range(CONCURRENT_ATTEMPTS)]
    try:
        for client in clients:
            client.get("/api/info")  # connections (and TLS) set up before the race
        conformance.make_room(CONCURRENT_ATTEMPTS)
        # A login the target refuses 503 `busy` (its hashing is saturated, INPUT-6) was neither
        # judged nor counted: it is sent again after Retry-After, and must then find the lock.
        started = conformance.now  # no lock of the race begins before
        answers = _race(clients, lambda c, _: judged_login(c, account.username))
        shortest = conformance.policy.lock_length(1)
        # A 401 past the 5th is only evidence while the race's lock surely still lasted.
        in_force = Ends.of_lock(started, started, shortest, conformance.clock.uncertainty)
        late = not in_force.in_force_when_answered(conformance.now)
        statuses = [a.status_code if isinstance(a, httpx.Response) else repr(a) for a in answers]
        judged = statuses.count(401)
        locks = statuses.count(429)
        if judged > conformance.policy.max_failures or not locks:
            conformance.lockout_works(api, account)  # LOCK-1's rule, before blaming the race
        assert judged + locks == len(answers), f"answers to the race: {statuses}"
        if judged > conformance.policy.max_failures and late:
            not_run(
                f"{judged} of the race's wrong passwords were judged, but the race lasted past "
                f"the earliest end of its lock ({shortest:.0f} s): a 401 after it proves nothing "
                "(the target answered too slowly)"
            )
        assert judged <= conformance.policy.max_failures, (
            f"{judged} of {len(answers)} simultaneous wrong passwords were judged (401) before "
            f"the lock; at most 5 may be: {statuses}"
        )
        assert locks >= 1, f"10 wrong passwords and no 429: {statuses}"
    finally:
        for client in clients:
            client.close()


@requirement(
    "LOCK-5", "two verifies with one valid code: at most one session", needs=(SPENDS_STEPS,)
)
def test_LOCK_5_concurrent_verifies_one_code(api, conformance, account):
    clients = [api.new_client() for _ in range(2)]
    try:
        for client in clients:
            client.get("/api/info")
        for _ in range(1):
            challenges = [conformance.login_ok(api, account) for _ in range(2)]
            code, step = conformance.next_code(account)
            answers = _race(
                clients,
                lambda c, i, code=code, challenges=challenges: c.post(
                    "/api/auth/verify", json={"challenge_token": challenges[i], "totp_code": code}
                ),
            )
            statuses = [
                a.status_code if isinstance(a, httpx.Response) else repr(a) for a in answers
            ]
            wins = statuses.count(200)
            if wins > 1:  # whether the target takes a code twice at all (TOTP-4's rule)
                again = api.verify(conformance.login_ok(api, account, then_verify=False), code)
                if again.status_code == 200:
                    blocked("TOTP-4", "the target takes a code twice, one verify after the other")
            assert wins <= 1, f"one code opened {wins} sessions in a race: {statuses}"
            assert set(statuses) <= {200, 401}, f"answers to the race: {statuses}"
    finally:
        for client in clients:
            client.close()


@requirement(
    "LOCK-6",
    "a restart must not be a way to clear a lock or reuse a code",
    needs=(RUNS_ALONE, LOCKS_ACCOUNT, SEVERAL_ACCOUNTS),
)
def test_LOCK_6_state_survives_restart(api, conformance, notes):
    if conformance.target.restart is None:
        not_run(conformance.target.restart_missing_reason)
    # Each account as its part needs it (a reset costs a slow hash): one to count to one short
    # of the lock and one to lock (either may carry failures), and one to sign in.
    with (
        conformance.accounts(api, short_of_lock=True) as (counting,),
        conformance.accounts(api, short_of_lock=True) as (locked,),
        conformance.accounts(api, clean=False) as (signed,),
    ):
        for response in conformance.fail_to(api, counting, conformance.policy.max_failures - 1):
            expect_status(response, 401)
        conformance.lock(api, locked)
        conformance.locked_answer(api, locked)
        challenge = conformance.login_ok(api, signed)
        code, step = conformance.next_code(signed)
        conformance.succeeded(api.verify(challenge, code), "a sign-in", step)
        before = conformance.now
        api.close()  # a restart drops connections; an open one would only delay a clean stop
        with timed(RESTART):
            new_url = conformance.restart_target()
        took = conformance.now - before
        notes.append(f"the restart took {took:.1f} s")
        if new_url:
            conformance.target.base_url_override = new_url
        api.reopen(conformance.target.base_url)
        # The last accepted step survived: the same code is a replay.
        replay = api.verify(conformance.login_ok(api, signed, then_verify=False), code)
        if replay.status_code == 200:  # whether the target takes a code twice at all (TOTP-4)
            challenge = conformance.login_ok(api, signed)
            code, step = conformance.next_code(signed)
            conformance.succeeded(api.verify(challenge, code), "a sign-in", step)
            again = api.verify(conformance.login_ok(api, signed, then_verify=False), code)
            if again.status_code == 200:
                blocked("TOTP-4", "the target takes a code twice even without a restart")
        assert replay.status_code != 200, "after a restart an already used code was accepted again"
        expect_error(replay, 401, "invalid_code")
        # The failure count survived: one more failure locks.
        expect_status(conformance.wrong_password(api, counting), 401)
        response = api.login(counting.username, counting.password)
        assert response.status_code == 429, (
            f"4 failures before a restart and 1 after did not lock: {describe(response)}"
        )
        # The lock survived (when it outlasted the restart).
        response = api.login(locked.username, locked.password)
        if response.status_code != 429 and not conformance.surely_locked(locked):
            notes.append(
                "the lock could end during the restart; its survival was judged by the count"
            )
        else:
            assert response.status_code == 429, f"a restart cleared a lock: {describe(response)}"


@requirement(
    "LOCK-7",
    "doubling locks make a month of guessing hopeless",
    needs=(WAITS_FOR_EXPIRY, LOCKS_ACCOUNT),
)
def test_LOCK_7_escalation(api, conformance, lockable_account, notes):
    account = lockable_account
    policy = conformance.policy
    if policy.escalation != "double":
        raise AssertionError(
            f"/api/info lockout.escalation is {policy.escalation!r}, not 'double': repeated "
            "lockouts do not escalate"
        )
    first = policy.lock_length(account.locks + 1)
    conformance.require_wait(first + 2, "escalation (two locks in a row)")
    conformance.lock(api, account)
    locked_at = conformance.now
    retry = conformance.retry_of(conformance.locked_answer(api, account))
    assert retry <= first + 1, f"the first lock lasts {retry} s, more than duration_s {first:.0f}"
    conformance.wait_until(locked_at + first + 1.5)
    conformance.lock(api, account)
    second_at = conformance.now  # the failures' answers are in: the lock began before
    retry = conformance.retry_of(conformance.locked_answer(api, account))
    elapsed = conformance.now - second_at  # at least this long into it (a slow target: seconds)
    second = 2 * first
    notes.append(
        f"first lock {first:.0f} s; second lock announced {retry} s, {elapsed:.1f} s into it"
    )
    assert retry >= second - elapsed - 2 - conformance.clock.uncertainty, (
        f"the second lock without a success in between lasts {retry} s {elapsed:.1f} s into "
        f"it; expected {second:.0f} s"
    )
    assert retry <= second + 1 + conformance.clock.uncertainty
    conformance.wait_until(second_at + first + 1.5)
    response = api.login(account.username, account.password)
    if response.status_code != 429 and not conformance.surely_locked(account, second):
        not_run(
            f"the check {first + 1.5:.1f} s into the second lock was answered {describe(response)} "
            f"after that lock could have ended ({second:.0f} s): its length was not judged (the "
            "target answered too slowly)"
        )
    assert response.status_code == 429, (
        f"the second lock ended after {first:.0f} s, not {second:.0f} s: {describe(response)}"
    )
