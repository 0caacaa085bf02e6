# ruff: noqa: S105, S106 - test credentials are fixtures, not secrets
"""LOG-1: every login and verify outcome logged; never a secret."""

from __future__ import annotations

import json

from .conftest import bearer, challenge, code_for, login, verify


def test_LOG_1_outcomes_logged_without_secrets(make_server, make_client, tmp_path):
    path = tmp_path / "audit.jsonl"
    server = make_server(audit_log=str(path))
    c = make_client(server, source="198.51.100.7")
    account = server.accounts[0]
    login(c, server, password="wrong-password-xyz")
    c.post("/api/auth/login", json={"username": "ghost", "password": "ghost-password"})
    c.post("/api/auth/login", json={"username": "shape", "password": ["not a string"]})
    token = challenge(c, server)
    wrong = f"{(int(code_for(server)) + 1) % 10**6:06d}"
    verify(c, token, wrong)
    verify(c, token, "12ab")
    code = code_for(server)
    session = verify(c, token, code).json()["session_token"]
    c.post("/api/auth/logout", headers=bearer(session))
    server.audit.close()
    text = path.read_text()
    events = [json.loads(line) for line in text.splitlines()]
    assert all(set(e) == {"time", "event", "username", "source", "outcome"} for e in events)
    assert [(e["event"], e["outcome"]) for e in events] == [
        ("login", "invalid_credentials"),
        ("login", "invalid_credentials"),
        ("login", "invalid_request"),
        ("login", "challenge_issued"),
        ("verify", "invalid_code"),
        ("verify", "invalid_request"),
        ("verify", "success"),
        ("logout", "revoked"),
    ]
    assert all(e["source"] == "198.51.100.7" for e in events)
    assert events[0]["username"] == account.username and events[1]["username"] == "ghost"
    assert events[0]["time"] == int(server.clock.now())
    for secret in (
        account.password,
        "wrong-password-xyz",
        "ghost-password",
        account.totp_secret,
        token,
        session,
        code,
        wrong,
    ):
        assert secret not in text
