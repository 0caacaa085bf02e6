# ruff: noqa: S105, S106 - test credentials are fixtures, not secrets
"""LOGIN: the first factor."""

from __future__ import annotations

from typing import Literal

import argon2

from reference_server.core.passwords import LIGHT, Passwords

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


class CountingHasher(argon2.PasswordHasher):
    """argon2id that notes the parameters of every hash it verifies against: the work done."""

    def __init__(self, **parameters: int) -> None:
        super().__init__(type=argon2.Type.ID, **parameters)
        self.work: list[argon2.Parameters] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002
        self.work.append(
            argon2.extract_parameters(hash if isinstance(hash, str) else hash.decode())
        )
        return super().verify(hash, password)


def test_LOGIN_4_unknown_user_costs_a_hash(make_server, make_client):
    """An unknown name does the argon2 work a wrong password does, at the stored hash's cost:
    what makes the two equally slow, asserted without timing anything (the suite's LOGIN-4 case
    measures the times on a running server)."""
    passwords = Passwords(**LIGHT)
    passwords.hasher = counting = CountingHasher(**LIGHT)
    server = make_server(passwords=passwords)
    c = make_client(server)
    account = server.accounts[0]
    with server.store.transaction() as tx:
        stored = argon2.extract_parameters(tx.account(account.username).password_hash)

    def work_of(username: str) -> list[argon2.Parameters]:
        counting.work.clear()
        r = c.post("/api/auth/login", json={"username": username, "password": "wrong"})
        assert r.status_code == 401, r.text
        return list(counting.work)

    assert work_of(account.username) == [stored]
    assert work_of("nobody-here") == [stored]


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


def test_LOGIN_4_a_dummy_of_the_right_cost_is_kept():
    """At each start the dummy is matched to the stored hashes: when it has their cost already,
    no new one is made (a hash at the production cost is ~0.1 s of every start)."""
    light = Passwords(time_cost=1, memory_cost=8192, parallelism=1)
    stored = [light.hash("a"), light.hash("b")]
    dummy = light._dummy
    light.calibrate_dummy(stored)
    assert light._dummy is dummy
    heavy = Passwords(time_cost=2, memory_cost=16384, parallelism=2)
    light.calibrate_dummy([heavy.hash("c")])
    assert light._dummy.startswith("$argon2id$v=19$m=16384,t=2,p=2$")
    light.calibrate_dummy(stored)
    assert light._dummy.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
