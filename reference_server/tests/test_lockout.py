# ruff: noqa: S105, S106 - test credentials are fixtures, not secrets
"""LOCK: lockout, its end, escalation and persistence (production durations on a FakeClock)."""

from __future__ import annotations

import threading

import pytest

from reference_server.auth import Locked, Refused
from reference_server.core.lockout import Lockout, ThrottleState
from reference_server.core.passwords import LIGHT, Passwords

from .conftest import challenge, code_for, login, verify


def wrong_code(server, index=0):
    return f"{(int(code_for(server, index)) + 1) % 10**6:06d}"


def lock(client, server, index=0):
    for _ in range(5):
        assert login(client, server, index, password="wrong").status_code == 401


def test_LOCK_1_five_failures_lock_even_the_right_credentials(client, server):
    token = challenge(client, server)
    lock(client, server)
    r = login(client, server)
    assert r.status_code == 429
    assert verify(client, token, code_for(server)).status_code == 429


def test_LOCK_1_wrong_passwords_and_codes_count_alike(client, server):
    token = challenge(client, server)
    for _ in range(2):
        assert login(client, server, password="wrong").status_code == 401
    for _ in range(3):
        assert verify(client, token, wrong_code(server)).status_code == 401
    assert login(client, server).status_code == 429


def test_LOCK_1_accounts_are_locked_separately(client, server):
    lock(client, server, 0)
    assert login(client, server, 1).status_code == 200


def test_LOCK_2_locked_answer_and_retry_after(client, server):
    lock(client, server)
    server.clock.advance(100.4)
    r = login(client, server)
    assert r.status_code == 429
    data = r.json()
    assert data["status"] == "locked" and data["error"] == "account_locked"
    assert data["retry_after"] == 200  # ceil(199.6)
    assert r.headers["retry-after"] == "200"


def test_LOCK_3_attempts_while_locked_do_not_extend(client, server):
    lock(client, server)
    for _ in range(10):
        server.clock.advance(29)
        assert login(client, server, password="wrong").status_code == 429
    server.clock.advance(300 - 290)
    r = login(client, server)
    assert r.status_code == 200


def test_LOCK_3_counter_is_zero_after_the_lock(client, server):
    lock(client, server)
    server.clock.advance(300)
    for _ in range(4):
        assert login(client, server, password="wrong").status_code == 401
    assert login(client, server).status_code == 200


def test_LOCK_4_only_a_successful_verify_resets(client, server):
    for _ in range(4):
        assert login(client, server, password="wrong").status_code == 401
    assert verify(client, challenge(client, server), code_for(server)).status_code == 200
    for _ in range(4):
        assert login(client, server, password="wrong").status_code == 401
    assert login(client, server).status_code == 200


def test_LOCK_5_concurrent_wrong_attempts_in_process(client, server):
    account = server.accounts[0]
    calls = [
        ("POST", "/api/auth/login", {"json": {"username": account.username, "password": "no"}})
        for _ in range(12)
    ]
    statuses = sorted(r.status_code for r in client.concurrently(calls))
    assert statuses.count(401) == 5 and statuses.count(429) == 7


def test_LOCK_5_two_concurrent_verifies_one_success(client, server):
    code = code_for(server)
    a, b = challenge(client, server), challenge(client, server)
    calls = [
        ("POST", "/api/auth/verify", {"json": {"challenge_token": t, "totp_code": code}})
        for t in (a, b)
    ]
    statuses = sorted(r.status_code for r in client.concurrently(calls))
    assert statuses == [200, 401]


def test_LOCK_6_lock_survives_restart(client, server, make_client):
    lock(client, server)
    server.restart()
    again = make_client(server)
    assert login(again, server).status_code == 429
    server.clock.advance(300)
    assert login(again, server).status_code == 200


def test_LOCK_7_each_further_lock_doubles(client, server):
    for expected in (300, 600, 1200, 2400):
        lock(client, server)
        r = login(client, server)
        assert r.json()["retry_after"] == expected
        server.clock.advance(expected - 1)
        assert login(client, server).status_code == 429
        server.clock.advance(1)
    # a successful verify resets the escalation
    assert verify(client, challenge(client, server), code_for(server)).status_code == 200
    lock(client, server)
    assert login(client, server).json()["retry_after"] == 300


@pytest.mark.parametrize("k, seconds", [(1, 300), (2, 600), (3, 1200), (9, 76800), (10, 86400)])
def test_LOCK_7_durations_capped_at_a_day(k, seconds):
    assert Lockout(duration_s=300).lock_duration(k) == seconds
    assert Lockout(duration_s=300).lock_duration(10**6) == 86400


def test_LOCK_7_first_lock_is_exactly_the_duration():
    rule = Lockout(duration_s=300)
    state = ThrottleState()
    for _ in range(5):
        state = rule.fail(state, 1000.0)
    assert state.locked_until == 1300.0 and state.failures == 0 and state.lock_count == 1


class GatedPasswords(Passwords):
    """Holds every password check until released: N attempts are all inside the hash at once."""

    def __init__(self, expected: int) -> None:
        super().__init__(**LIGHT)
        self.entered = threading.Barrier(expected + 1)
        self.release = threading.Event()

    def verify(self, stored, password):
        self.entered.wait(timeout=10)
        self.release.wait(timeout=10)
        return super().verify(stored, password)


def test_LOCK_5_attempts_that_hashed_together_are_judged_at_most_five(make_server):
    passwords = GatedPasswords(expected=10)
    server = make_server(passwords=passwords)
    name = server.accounts[0].username
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(server.auth.login(name, "no", None)))
        for _ in range(10)
    ]
    for t in threads:
        t.start()
    passwords.entered.wait(timeout=10)  # all ten passed the first lock check
    # the store is free while they hash: a session can be read meanwhile
    assert isinstance(server.auth.dashboard("unknown-token"), Refused)
    passwords.release.set()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Refused) for r in results) == 5
    assert sum(isinstance(r, Locked) for r in results) == 5
