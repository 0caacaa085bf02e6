# ruff: noqa: S106 - test credentials
"""LOCK-8: failures from one source address are counted across all names over a sliding window;
past the limit that address gets the lockout answer, whatever it tries, and nobody else does."""

from __future__ import annotations

import json

import pytest

from reference_server.assembly import ProfileError, parse_throttle
from reference_server.core.address_throttle import AddressThrottle

from .conftest import challenge, code_for, login, verify

LIMIT = AddressThrottle(max_failures=6, window_s=60)


def wrong(client, name: str):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"username": name, "password": "wrong"})


def test_LOCK_8_window_arithmetic():
    throttle = AddressThrottle(max_failures=3, window_s=10)
    assert throttle.retry_after([1.0, 2.0], 5.0) is None
    assert throttle.retry_after([1.0, 2.0, 4.0], 5.0) == 6  # the one at 1.0 leaves at 11.0
    assert throttle.retry_after([1.0, 2.0, 4.0], 10.5) == 1  # ceil(0.5), at least 1
    assert throttle.retry_after([1.0, 2.0, 4.0], 11.0) is None  # out of the window at 11.0
    assert throttle.retry_after([0.5, 1.0, 2.0, 4.0], 5.0) == 6  # four: below 3 when 1.0 leaves
    with pytest.raises(ValueError):
        AddressThrottle(max_failures=0)


def test_LOCK_8_defaults_in_info(make_server, make_client):
    production = make_client(make_server()).get("/api/info").json()
    assert production["throttle"] == {"max_failures": 50, "window_s": 300}
    test = make_client(make_server(profile="test")).get("/api/info").json()
    assert test["throttle"] == {"max_failures": 50, "window_s": 5}
    off = make_client(make_server(throttle="off")).get("/api/info").json()
    assert "throttle" not in off


def test_LOCK_8_parse_option():
    assert parse_throttle("50/300") == AddressThrottle(50, 300)
    assert parse_throttle("OFF") == "off"
    for bad in ("50", "0/300", "50/0", "a/b", "50/300/1", ""):
        with pytest.raises(ProfileError):
            parse_throttle(bad)


def test_LOCK_8_address_is_throttled_across_names(make_server, make_client, tmp_path):
    audit = tmp_path / "audit.jsonl"
    server = make_server(throttle=LIMIT, audit_log=str(audit))
    attacker = make_client(server, "192.0.2.66")
    neighbour = make_client(server, "192.0.2.7")
    token = challenge(attacker, server, 2)  # issued before the throttle: verify is refused later
    for i in range(3):
        assert wrong(attacker, f"nobody-{i}").status_code == 401
    for _ in range(2):
        assert login(attacker, server, 0, password="wrong").status_code == 401
    assert verify(attacker, token, "000000").status_code == 401  # the 6th failure: a wrong code
    server.clock.advance(10)

    for answer in (
        login(attacker, server, 1),  # a right password, another name
        wrong(attacker, "nobody-new"),
        verify(attacker, token, code_for(server, 2)),  # a right code
    ):
        assert answer.status_code == 429, answer.text
        body = answer.json()
        assert body["error"] == "account_locked" and body["status"] == "locked"
        assert body["retry_after"] == 50  # the first failure leaves the window 60 s after it
        assert answer.headers["retry-after"] == "50"

    # the throttled attempts changed no account: account 0 has 2 failures, so 3 more lock it
    assert login(neighbour, server, 1).status_code == 200
    for _ in range(3):
        assert login(neighbour, server, 0, password="wrong").status_code == 401
    assert login(neighbour, server, 0).status_code == 429
    outcomes = [json.loads(line) for line in audit.read_text().splitlines()]
    throttled = [o for o in outcomes if o["outcome"] == "throttled"]
    assert [o["event"] for o in throttled] == ["login", "login", "verify"]
    assert {o["source"] for o in throttled} == {"192.0.2.66"}


def test_LOCK_8_refused_attempts_do_not_extend_it_and_it_ends_on_time(make_server, make_client):
    server = make_server(throttle=LIMIT)
    attacker = make_client(server, "192.0.2.66")
    for i in range(6):
        assert wrong(attacker, f"n{i}").status_code == 401
        server.clock.advance(1)
    for _ in range(20):  # refused: not counted, the window does not move
        assert wrong(attacker, "again").status_code == 429
    server.clock.advance(60 - 6)  # the first failure leaves the window
    assert login(attacker, server, 0).status_code == 200  # a success does not clear it...
    assert wrong(attacker, "n-late").status_code == 401  # ...but 5 in the window may fail again
    assert wrong(attacker, "n-later").status_code == 429
    assert wrong(attacker, "n-later").json()["retry_after"] == 1


def test_LOCK_8_survives_a_restart(make_server, make_client):
    server = make_server(throttle=LIMIT)
    attacker = make_client(server, "192.0.2.66")
    for i in range(6):
        assert wrong(attacker, f"n{i}").status_code == 401
    server.restart()
    after = make_client(server, "192.0.2.66")
    assert login(after, server, 0).status_code == 429
    assert login(make_client(server, "192.0.2.7"), server, 0).status_code == 200


def test_LOCK_8_old_failures_are_pruned(make_server):
    server = make_server(throttle=LIMIT)
    for i in range(5):
        server.auth.login(f"n{i}", "wrong", "192.0.2.66")
    server.clock.advance(61)
    server.auth.login("n-new", "wrong", "192.0.2.66")
    with server.store.transaction() as tx:
        rows = tx.conn.execute("SELECT count(*) FROM address_failures").fetchone()[0]
    assert rows == 1, "failures out of the window stay in the database"


def test_LOCK_8_serve_refuses_a_malformed_throttle_before_starting(capsys):
    from reference_server.cli import main

    assert main(["serve", "--db", ":memory:", "--port", "0", "--throttle", "50"]) == 2
    assert "--throttle" in capsys.readouterr().err
