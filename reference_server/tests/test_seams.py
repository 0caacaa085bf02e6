# ruff: noqa: S106 - test credentials
"""The mutant seams of embedded.py: each one breaks exactly the rule it names, and nothing needs
editing in this package. The conformance suite's mutants are built the same way."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reference_server.auth import Authenticator
from reference_server.core.challenge import ChallengePolicy
from reference_server.core.lockout import Lockout, ThrottleState
from reference_server.core.session import SessionPolicy

from .conftest import bearer, challenge, code_for, login, session_token, verify


def wrong_code(server):
    return f"{(int(code_for(server)) + 1) % 10**6:06d}"


def fails_then(client, server, n):
    for _ in range(n):
        assert login(client, server, password="wrong").status_code == 401
    return login(client, server).status_code


def test_reference_baseline(make_server, make_client):
    server = make_server()
    assert fails_then(make_client(server), server, 5) == 429


@pytest.mark.parametrize(
    "seam, expected", [({"max_failures": 6}, 200), ({"max_failures": 10**9}, 200)]
)
def test_lockout_count(make_server, make_client, seam, expected):
    server = make_server(lockout=seam)
    c = make_client(server)
    assert fails_then(c, server, 5) == expected
    assert c.get("/api/info").json()["lockout"]["max_failures"] == 5  # still advertised as 5


def test_code_failures_not_counted(make_server, make_client):
    server = make_server(lockout={"counts_code_failures": False})
    c = make_client(server)
    token = challenge(c, server)
    for _ in range(6):
        assert verify(c, token, wrong_code(server)).status_code == 401
    assert verify(c, token, code_for(server)).status_code == 200


def test_password_resets_counter(make_server, make_client):
    class Forgiving(Lockout):
        def on_password_ok(self, state):
            return ThrottleState()

    server = make_server(lockout=Forgiving)
    c = make_client(server)
    for _ in range(4):
        assert login(c, server, password="wrong").status_code == 401
    assert login(c, server).status_code == 200
    assert fails_then(c, server, 4) == 200


def test_lock_extended_while_locked(make_server, make_client):
    class Extending(Lockout):
        def on_locked_attempt(self, state, now):
            return replace(state, locked_until=now + self.duration_s)

    server = make_server(lockout=Extending)
    c = make_client(server)
    assert fails_then(c, server, 5) == 429
    server.clock.advance(200)
    assert login(c, server).status_code == 429
    server.clock.advance(200)
    assert login(c, server).status_code == 429  # the reference would have let this in


@pytest.mark.parametrize(
    "seam, offset, expected", [({"skew_steps": 2}, 2, 200), ({"skew_steps": 0}, 1, 401)]
)
def test_drift_window(make_server, make_client, seam, offset, expected):
    server = make_server(totp=seam)
    c = make_client(server)
    assert verify(c, challenge(c, server), code_for(server, 0, offset)).status_code == expected
    assert c.get("/api/info").json()["totp"]["skew_steps"] == 1


def test_replay_allowed(make_server, make_client):
    server = make_server(totp={"replay_protection": False})
    c = make_client(server)
    code = code_for(server)
    assert verify(c, challenge(c, server), code).status_code == 200
    assert verify(c, challenge(c, server), code).status_code == 200


def test_wrong_hmac(make_server, make_client):
    server = make_server(totp={"algorithm": "SHA256"})
    c = make_client(server)
    assert verify(c, challenge(c, server), code_for(server)).status_code == 401


def test_unknown_users_answered_differently_or_never_locked(make_server, make_client):
    class Telling(Authenticator):
        unknown_user_error = "unknown_user"

    class Unlocked(Authenticator):
        throttle_unknown_users = False

    server = make_server(authenticator=Telling)
    ghost = {"username": "ghost", "password": "x"}
    r = make_client(server).unchecked("POST", "/api/auth/login", json=ghost)
    assert r.json()["error"] == "unknown_user"
    server = make_server(authenticator=Unlocked)
    c = make_client(server)
    ghost = {"username": "ghost", "password": "x"}
    assert [c.post("/api/auth/login", json=ghost).status_code for _ in range(6)] == [401] * 6


def test_malformed_codes_counted(make_server, make_client):
    class Counting(Authenticator):
        def malformed_code(self, challenge_token, source):
            self.count_failure(challenge_token)

    server = make_server(authenticator=Counting)
    c = make_client(server)
    token = challenge(c, server)
    for _ in range(5):
        assert verify(c, token, "12ab").status_code == 400
    assert verify(c, token, code_for(server)).status_code == 429


def test_challenge_reuse_and_no_expiry(make_server, make_client):
    class Eternal(ChallengePolicy):
        def is_usable(self, challenge, now):
            return challenge is not None and not challenge.used

    server = make_server(challenges={"single_use": False})
    c = make_client(server)
    token = challenge(c, server)
    assert verify(c, token, code_for(server)).status_code == 200
    server.clock.advance(30)
    assert verify(c, token, code_for(server)).status_code == 200
    server = make_server(challenges=Eternal)
    c = make_client(server)
    token = challenge(c, server)
    server.clock.advance(10_000)
    assert verify(c, token, code_for(server)).status_code == 200
    assert c.get("/api/info").json()["challenge_ttl_s"] == 120


def test_sessions_never_expire_and_logout_not_revoking(make_server, make_client):
    class Eternal(SessionPolicy):
        def is_valid(self, session, now):
            return session is not None and not session.revoked

    server = make_server(sessions=Eternal)
    c = make_client(server)
    token = session_token(c, server)
    server.clock.advance(10_000)
    assert c.get("/api/dashboard", headers=bearer(token)).status_code == 200
    server = make_server(sessions={"revoke_on_logout": False})
    c = make_client(server)
    token = session_token(c, server)
    assert c.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    assert c.get("/api/dashboard", headers=bearer(token)).status_code == 200


def test_short_tokens(make_server, make_client):
    server = make_server(tokens={"nbytes": 8})
    c = make_client(server)
    account = server.accounts[0]
    creds = {"username": account.username, "password": account.password}
    r = c.unchecked("POST", "/api/auth/login", json=creds)
    assert len(r.json()["challenge_token"]) == 11


def test_edge_options(make_server, make_client):
    server = make_server(
        edge={
            "body_limit": None,
            "cache_control": False,
            "www_authenticate": False,
            "retry_after_header": False,
            "bad_json_status": 500,
        }
    )
    c = make_client(server)
    r = c.unchecked("GET", "/api/dashboard")
    assert "www-authenticate" not in r.headers and "cache-control" not in r.headers
    json_type = {"content-type": "application/json"}
    r = c.unchecked("POST", "/api/auth/login", content=b"{", headers=json_type)
    assert r.status_code == 500
    big = {"username": "x", "password": "p" * 2000}
    assert c.unchecked("POST", "/api/auth/login", json=big).status_code == 400  # not 413
    for _ in range(5):
        c.unchecked("POST", "/api/auth/login", json={"username": "x", "password": "y"})
    r = c.unchecked("POST", "/api/auth/login", json={"username": "x", "password": "y"})
    assert r.status_code == 429 and "retry-after" not in r.headers


def test_time_not_synced(make_server, make_client):
    server = make_server(time_synced=lambda: False)
    c = make_client(server)
    assert verify(c, challenge(c, server), code_for(server)).status_code == 503


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def unicode_digits(code: str) -> str | None:
    return f"{int(code):06d}" if len(code) == 6 and code.isdecimal() else None


def test_code_format(make_server, make_client):
    code_of = lambda server: code_for(server).translate(ARABIC_INDIC)  # noqa: E731
    reference = make_server()
    c = make_client(reference)
    assert verify(c, challenge(c, reference), code_of(reference)).status_code == 400
    lenient = make_server(edge={"code_format": unicode_digits})
    c = make_client(lenient)
    assert verify(c, challenge(c, lenient), code_of(lenient)).status_code == 200


def test_on_restart(make_server, make_client):
    def forget_locks(server):
        for account in server.accounts:
            server.auth.reset_lockout(account.username)

    seen = []
    server = make_server(on_restart=lambda s: seen.append(s))
    server.restart()
    assert seen == [server]
    server = make_server(on_restart=forget_locks)
    c = make_client(server)
    assert fails_then(c, server, 5) == 429
    server.restart()
    assert login(make_client(server), server).status_code == 200  # the reference keeps it
