"""CHAL: challenge tokens."""

from __future__ import annotations

import pytest

from .conftest import challenge, code_for, verify


def test_CHAL_1_tokens_are_long_random_and_distinct(client, server):
    tokens = {challenge(client, server) for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(t) == 43 for t in tokens)  # 32 bytes, URL-safe base64 without padding


def test_CHAL_1_bound_to_one_account(client, server):
    token = challenge(client, server, 0)
    r = verify(client, token, code_for(server, 1))  # account 1's code on account 0's challenge
    assert r.status_code == 401 and r.json()["error"] == "invalid_code"


def test_CHAL_2_single_use(client, server):
    token = challenge(client, server)
    assert verify(client, token, code_for(server)).status_code == 200
    server.clock.advance(30)
    r = verify(client, token, code_for(server))
    assert r.status_code == 401 and r.json()["error"] == "invalid_challenge"


def test_CHAL_2_wrong_code_does_not_consume(client, server):
    token = challenge(client, server)
    right = code_for(server)
    assert verify(client, token, f"{(int(right) + 1) % 10**6:06d}").status_code == 401
    assert verify(client, token, right).status_code == 200


def test_CHAL_3_expires_after_challenge_ttl(client, server):
    token = challenge(client, server)
    server.clock.advance(119.5)
    still = challenge(client, server)
    assert verify(client, still, code_for(server)).status_code == 200
    server.clock.advance(0.5)
    r = verify(client, token, code_for(server, 0, 1))
    assert r.status_code == 401 and r.json()["error"] == "invalid_challenge"


@pytest.mark.parametrize(
    "token",
    ["x", "A" * 43, "A" * 128, "../../etc/passwd", "'; DROP TABLE challenges; --", "\u00e9" * 40],
)
def test_CHAL_4_unknown_or_malformed_challenge(client, server, token):
    r = verify(client, token, code_for(server))
    assert r.status_code == 401 and r.json()["error"] == "invalid_challenge"


def test_CHAL_4_lone_surrogate_challenge_is_invalid_challenge(client, server):
    raw = b'{"challenge_token": "\\ud800abc", "totp_code": "123456"}'
    r = client.raw_post("/api/auth/verify", raw)
    assert r.status_code == 401 and r.json()["error"] == "invalid_challenge"
    raw = b'{"challenge_token": "\\ud800abc", "backup_code": "\\udfffx"}'
    assert client.raw_post("/api/auth/verify", raw).status_code == 401
