# ruff: noqa: S105, S106 - test credentials are fixtures, not secrets
"""LOGIN: the first factor."""

from __future__ import annotations

import statistics
import time

from reference_server.core.passwords import Passwords

from .conftest import login


def test_LOGIN_1_right_password_issues_a_challenge(client, server):
    r = login(client, server)
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "2fa_required"
    assert data["expires_in"] == 120
    assert "session_token" not in data


def test_LOGIN_2_wrong_password(client, server):
    r = login(client, server, password="not the password")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_credentials"


def test_LOGIN_3_unknown_user_answers_like_a_wrong_password(client, server):
    wrong = login(client, server, password="not the password")
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == wrong.status_code
    assert unknown.json() == wrong.json()
    strip = {"date"}
    assert {k: v for k, v in unknown.headers.items() if k not in strip} == {
        k: v for k, v in wrong.headers.items() if k not in strip
    }


def test_LOGIN_3_unknown_user_is_locked_like_a_real_one(client):
    answers = [
        client.post("/api/auth/login", json={"username": "ghost", "password": "x"}).status_code
        for _ in range(6)
    ]
    assert answers == [401] * 5 + [429]


def test_LOGIN_4_unknown_user_costs_a_hash(make_server, make_client):
    server = make_server()
    c = make_client(server)
    account = server.accounts[0]

    def median(username: str) -> float:
        times = []
        for _ in range(9):
            server.auth.reset_lockout(username)
            start = time.perf_counter()
            c.post("/api/auth/login", json={"username": username, "password": "wrong"})
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    wrong, unknown = median(account.username), median("nobody-here")
    # not a speed target: the unknown path must do the hash at all (a missing hash is ~100x faster)
    assert unknown > wrong * 0.5, (wrong, unknown)


def test_LOGIN_5_stored_hash_is_self_describing_argon2id(server):
    with server.store.transaction() as tx:
        stored = tx.account(server.accounts[0].username).password_hash
    assert stored.startswith("$argon2id$v=19$m=")
    assert server.accounts[0].password not in stored
    # raised cost: an old hash still verifies under its own parameters
    stronger = Passwords(time_cost=2, memory_cost=16384, parallelism=1)
    assert stronger.verify(stored, server.accounts[0].password)
    assert not stronger.verify(stored, "wrong")
    assert not stronger.verify(None, server.accounts[0].password)


def test_LOCK_4_right_password_does_not_reset_the_counter(client, server):
    for _ in range(4):
        assert login(client, server, password="wrong").status_code == 401
    assert login(client, server).status_code == 200
    assert login(client, server, password="wrong").status_code == 401  # the 5th failure
    assert login(client, server).status_code == 429


def test_LOGIN_4_dummy_hash_takes_the_stored_accounts_cost():
    light = Passwords(time_cost=1, memory_cost=8192, parallelism=1)
    heavy = Passwords(time_cost=2, memory_cost=16384, parallelism=2)
    stored = [heavy.hash("a"), heavy.hash("b"), light.hash("c"), "not a hash"]
    light.calibrate_dummy(stored)
    assert light._dummy.startswith("$argon2id$v=19$m=16384,t=2,p=2$")
    assert not light.verify(None, "a")
