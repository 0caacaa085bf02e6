# ruff: noqa: S105, S106 - test credentials are fixtures, not secrets
"""SESS: session tokens, dashboard, logout, backup codes."""

from __future__ import annotations

from .conftest import bearer, challenge, code_for, session_token, verify


def test_SESS_1_token_answer(client, server):
    r = verify(client, challenge(client, server), code_for(server))
    data = r.json()
    assert data["token_type"] == "Bearer" and data["expires_in"] == 3600
    assert len(data["session_token"]) == 43
    assert r.headers["cache-control"] == "no-store"


def test_SESS_2_dashboard_with_a_valid_token(client, server):
    issued = int(server.clock.now())
    token = session_token(client, server)
    r = client.get("/api/dashboard", headers=bearer(token))
    assert r.status_code == 200
    data = r.json()
    assert data["user"] == {"username": server.accounts[0].username}
    assert data["session"]["issued_at"] == issued
    assert abs(data["session"]["expires_at"] - (issued + 3600)) <= 1


def test_SESS_2_bearer_scheme_is_case_insensitive(client, server):
    token = session_token(client, server)
    r = client.get("/api/dashboard", headers={"Authorization": f"bEaReR {token}"})
    assert r.status_code == 200


def test_SESS_3_missing_token(client):
    r = client.get("/api/dashboard")
    assert r.status_code == 401 and r.json()["error"] == "missing_token"
    assert r.headers["www-authenticate"] == 'Bearer realm="tfa"'
    r = client.get("/api/dashboard", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and r.json()["error"] == "missing_token"


def test_SESS_3_invalid_token(client):
    for value in ("Bearer nonsense", "Bearer ", "Bearer a b", "Bearer " + "A" * 43):
        r = client.get("/api/dashboard", headers={"Authorization": value})
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_SESS_4_expires_after_session_ttl(client, server):
    token = session_token(client, server)
    server.clock.advance(3599.5)
    assert client.get("/api/dashboard", headers=bearer(token)).status_code == 200
    server.clock.advance(0.5)
    r = client.get("/api/dashboard", headers=bearer(token))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_SESS_5_logout_revokes_at_once(client, server):
    token = session_token(client, server)
    other = session_token(client, server, 1)
    r = client.post("/api/auth/logout", headers=bearer(token))
    assert r.status_code == 204 and r.content == b""
    assert client.get("/api/dashboard", headers=bearer(token)).status_code == 401
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 401
    assert client.get("/api/dashboard", headers=bearer(other)).status_code == 200


def test_SESS_5_logout_without_token(client):
    r = client.post("/api/auth/logout")
    assert r.status_code == 401 and r.json()["error"] == "missing_token"


def backup(client, token, code):
    return client.post("/api/auth/verify", json={"challenge_token": token, "backup_code": code})


def test_SESS_6_backup_code_single_use(client, server):
    code = server.accounts[0].backup_codes[0]
    assert (
        backup(client, challenge(client, server), code.upper().replace("-", " ")).status_code == 200
    )
    r = backup(client, challenge(client, server), code)
    assert r.status_code == 401 and r.json()["error"] == "invalid_code"
    assert (
        backup(client, challenge(client, server), server.accounts[0].backup_codes[1]).status_code
        == 200
    )


def test_SESS_6_wrong_backup_code_counts_as_failure(client, server):
    token = challenge(client, server)
    for _ in range(5):
        assert backup(client, token, "aaaaa-aaaaa").status_code == 401
    assert backup(client, token, server.accounts[0].backup_codes[0]).status_code == 429


def test_SESS_6_backup_codes_stored_hashed(server):
    with server.store.transaction() as tx:
        stored = [h for _, h in tx.backup_codes(server.accounts[0].username)]
    assert len(stored) == 10
    joined = " ".join(stored)
    assert not any(c.replace("-", "") in joined for c in server.accounts[0].backup_codes)


def test_SESS_6_totp_and_backup_together_is_400(client, server):
    token = challenge(client, server)
    r = client.post(
        "/api/auth/verify",
        json={"challenge_token": token, "totp_code": code_for(server), "backup_code": "x"},
    )
    assert r.status_code == 400
