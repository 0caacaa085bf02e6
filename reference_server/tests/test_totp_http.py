"""TOTP-2..8 over HTTP, with the FakeClock moved instead of waiting."""

from __future__ import annotations

import pytest

from .conftest import challenge, code_for, login, verify


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_TOTP_2_steps_within_one_accepted(client, server, offset):
    r = verify(client, challenge(client, server), code_for(server, 0, offset))
    assert r.status_code == 200
    assert r.json()["status"] == "success"


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_TOTP_3_steps_outside_rejected(client, server, offset):
    r = verify(client, challenge(client, server), code_for(server, 0, offset))
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_code"


def test_TOTP_4_replay_through_another_challenge_is_a_wrong_code(client, server):
    code = code_for(server)
    assert verify(client, challenge(client, server), code).status_code == 200
    replay = verify(client, challenge(client, server), code)
    wrong = verify(client, challenge(client, server), "000000" if code != "000000" else "111111")
    assert replay.status_code == 401 and replay.json() == wrong.json()


def test_TOTP_4_older_step_after_a_newer_one_refused(client, server):
    assert verify(client, challenge(client, server), code_for(server, 0, 1)).status_code == 200
    r = verify(client, challenge(client, server), code_for(server, 0, 0))
    assert r.status_code == 401 and r.json()["error"] == "invalid_code"
    server.clock.advance(60)  # two steps later the next fresh step is accepted
    assert verify(client, challenge(client, server), code_for(server)).status_code == 200


def test_TOTP_4_last_step_survives_restart(client, server, make_client):
    code = code_for(server)
    assert verify(client, challenge(client, server), code).status_code == 200
    server.restart()
    again = make_client(server)
    r = verify(again, challenge(again, server), code)
    assert r.status_code == 401 and r.json()["error"] == "invalid_code"


@pytest.mark.parametrize("bad", ["12345", "1234567", "12345a", " 123456", "١٢٣٤٥٦", "12 456", ""])
def test_TOTP_5_malformed_code_is_400_and_not_counted(client, server, bad):
    token = challenge(client, server)
    for _ in range(6):
        r = verify(client, token, bad)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert verify(client, token, code_for(server)).status_code == 200


def test_TOTP_5_code_of_wrong_type_is_400(client, server):
    token = challenge(client, server)
    r = client.post("/api/auth/verify", json={"challenge_token": token, "totp_code": 123456})
    assert r.status_code == 400


def test_TOTP_5_wellformed_wrong_code_counts(client, server):
    token = challenge(client, server)
    right = code_for(server)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for _ in range(5):
        assert verify(client, token, wrong).status_code == 401
    assert verify(client, token, right).status_code == 429


def test_TOTP_7_unsynced_clock_answers_503(make_server, make_client):
    synced = {"value": True}
    server = make_server(time_synced=lambda: synced["value"])
    c = make_client(server)
    token = challenge(c, server)
    synced["value"] = False
    assert c.get("/api/info").json()["time_synced"] is False
    r = verify(c, token, code_for(server))
    assert r.status_code == 503 and r.json()["error"] == "clock_not_synced"
    synced["value"] = True
    assert verify(c, token, code_for(server)).status_code == 200  # nothing was consumed


def test_TOTP_8_secrets_are_160_bits_and_never_returned(client, server):
    import base64

    for account in server.accounts:
        assert (
            len(base64.b32decode(account.totp_secret + "=" * (-len(account.totp_secret) % 8))) == 20
        )
    seen = [client.get("/api/info").text, login(client, server).text]
    assert not any(server.accounts[0].totp_secret in text for text in seen)
