"""Answers the spec does not allow become ProtocolError, never a crash or a wrong success."""
# ruff: noqa: S106

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from client import AccountLocked, AuthClient, InvalidCredentials, ProtocolError, ServerBusy
from client.tests.fake_board import FakeBoard

TOKEN = "A" * 43
GOOD_LOGIN = {"status": "2fa_required", "challenge_token": TOKEN, "expires_in": 5}
GOOD_VERIFY = {"status": "success", "session_token": TOKEN, "token_type": "Bearer", "expires_in": 5}
GOOD_ERROR = {"status": "error", "error": "invalid_credentials", "message": "no"}
GOOD_BUSY = {"status": "error", "error": "busy", "message": "try later"}
GOOD_LOCKED = {"status": "locked", "error": "account_locked", "message": "wait", "retry_after": 7}


def answer(
    status: int, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.Response(
        status, content=content, headers={"Content-Type": "application/json", **(headers or {})}
    )


def on(path: str, response: httpx.Response) -> Callable[[httpx.Request], httpx.Response | None]:
    return lambda request: response if request.url.path == path else None


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not ...}


LOGIN_ANSWERS = {
    "500": answer(500, {"status": "error", "error": "internal", "message": "boom"}),
    "200 not json": answer(200, None, raw=b"<html>hello</html>"),
    "200 text/html": httpx.Response(200, content=json.dumps(GOOD_LOGIN).encode()),
    "200 json array": answer(200, [GOOD_LOGIN]),
    "200 bad utf-8": answer(200, None, raw=b'{"status": "\xff"}'),
    "200 missing token": answer(200, with_(GOOD_LOGIN, challenge_token=...)),
    "200 wrong status": answer(200, with_(GOOD_LOGIN, status="success")),
    "200 expires_in string": answer(200, with_(GOOD_LOGIN, expires_in="5")),
    "200 expires_in bool": answer(200, with_(GOOD_LOGIN, expires_in=True)),
    "200 expires_in zero": answer(200, with_(GOOD_LOGIN, expires_in=0)),
    "200 short token": answer(200, with_(GOOD_LOGIN, challenge_token="abc")),
    "200 extra key": answer(200, with_(GOOD_LOGIN, session_token=TOKEN)),
    "302 redirect": httpx.Response(302, headers={"Location": "https://elsewhere.test/"}),
    "401 unexpected code": answer(401, with_(GOOD_ERROR, error="invalid_token")),
    "401 extra key": answer(401, with_(GOOD_ERROR, user_exists=False)),
    "401 missing message": answer(401, with_(GOOD_ERROR, message=...)),
    "400 invalid_request": answer(400, with_(GOOD_ERROR, error="invalid_request")),
    "429 no Retry-After": answer(429, GOOD_LOCKED),
    "429 Retry-After differs": answer(429, GOOD_LOCKED, {"Retry-After": "3"}),
    "429 Retry-After date": answer(
        429, GOOD_LOCKED, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    ),
    "429 retry_after missing": answer(
        429, with_(GOOD_LOCKED, retry_after=...), {"Retry-After": "7"}
    ),
    "429 status error": answer(429, with_(GOOD_LOCKED, status="error"), {"Retry-After": "7"}),
    "body too large": answer(200, None, raw=b" " * 70_000 + json.dumps(GOOD_LOGIN).encode()),
    "503 busy no Retry-After": answer(503, GOOD_BUSY),
    "503 busy Retry-After date": answer(
        503, GOOD_BUSY, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    ),
}


@pytest.mark.parametrize("case", sorted(LOGIN_ANSWERS))
def test_login_answers_outside_the_spec(board: FakeBoard, client: AuthClient, case: str) -> None:
    board.misbehave = on("/api/auth/login", LOGIN_ANSWERS[case])
    with pytest.raises(ProtocolError):
        client.login("alice", "correct horse")


def test_a_429_without_retry_after_does_not_hold_the_account(
    board: FakeBoard, client: AuthClient
) -> None:
    board.misbehave = on("/api/auth/login", LOGIN_ANSWERS["429 no Retry-After"])
    with pytest.raises(ProtocolError):
        client.login("alice", "correct horse")
    assert client.locked_for("alice") == 0


def test_well_formed_answers_pass(board: FakeBoard, client: AuthClient) -> None:
    """The same harness with correct answers: the checks above fail for the right reason."""
    board.misbehave = on("/api/auth/login", answer(401, GOOD_ERROR))
    with pytest.raises(InvalidCredentials):
        client.login("alice", "correct horse")
    board.misbehave = on("/api/auth/login", answer(429, GOOD_LOCKED, {"Retry-After": "7"}))
    with pytest.raises(AccountLocked) as locked:
        client.login("alice", "correct horse")
    assert locked.value.retry_after == 7
    board.misbehave = on("/api/auth/login", answer(503, GOOD_BUSY, {"Retry-After": "2"}))
    with pytest.raises(ServerBusy) as busy:
        client.login("bob", "correct horse")
    assert busy.value.retry_after == 2
    assert client.locked_for("bob") == 0, "busy is no lockout: nothing was judged"
    board.misbehave = on(
        "/api/auth/login",
        answer(200, GOOD_LOGIN, {"Content-Type": "application/json; charset=utf-8"}),
    )
    client.login("bob", "pw")


VERIFY_ANSWERS = {
    "token_type bearer": answer(200, with_(GOOD_VERIFY, token_type="bearer")),
    "token_type MAC": answer(200, with_(GOOD_VERIFY, token_type="MAC")),
    "no token_type": answer(200, with_(GOOD_VERIFY, token_type=...)),
    "session_token number": answer(200, with_(GOOD_VERIFY, session_token=12345)),
    "session_token with a space": answer(200, with_(GOOD_VERIFY, session_token="A" * 30 + " x")),
    "session_token with CRLF": answer(200, with_(GOOD_VERIFY, session_token="A" * 30 + "\r\nX: y")),
    "201": answer(201, GOOD_VERIFY),
    "401 invalid_credentials": answer(401, GOOD_ERROR),
    "503 wrong code": answer(503, with_(GOOD_ERROR, error="invalid_code")),
}


@pytest.mark.parametrize("case", sorted(VERIFY_ANSWERS))
def test_verify_answers_outside_the_spec(board: FakeBoard, client: AuthClient, case: str) -> None:
    challenge = client.login("alice", "correct horse")
    board.misbehave = on("/api/auth/verify", VERIFY_ANSWERS[case])
    with pytest.raises(ProtocolError):
        client.verify(challenge, totp_code=board.code("alice"))


INFO_ANSWERS = {
    "api_version 2": {"api_version": "2"},
    "server_time float": {"server_time": 1.5},
    "server_time string": {"server_time": "1800000000"},
    "time_synced int": {"time_synced": 1},
    "profile dev": {"profile": "dev"},
    "digits 8": {"totp": {"algorithm": "SHA1", "digits": 8, "period": 30, "skew_steps": 1}},
    "sha256": {"totp": {"algorithm": "SHA256", "digits": 6, "period": 30, "skew_steps": 1}},
    "max_failures 3": {"lockout": {"max_failures": 3, "duration_s": 5}},
    "no lockout": {"lockout": ...},
}


@pytest.mark.parametrize("case", sorted(INFO_ANSWERS))
def test_info_answers_outside_the_spec(board: FakeBoard, client: AuthClient, case: str) -> None:
    good = client.info().raw
    board.misbehave = on("/api/info", answer(200, with_(good, **INFO_ANSWERS[case])))
    with pytest.raises(ProtocolError):
        client.info()


def test_dashboard_and_logout_answers_outside_the_spec(
    board: FakeBoard, client: AuthClient
) -> None:
    session = client.authenticate("alice", "correct horse", totp_code=board.code("alice"))
    board.misbehave = on("/api/dashboard", answer(200, {"status": "success", "user": "alice"}))
    with pytest.raises(ProtocolError):
        client.dashboard(session)
    board.misbehave = on("/api/auth/logout", answer(200, {"status": "success"}))
    with pytest.raises(ProtocolError):
        client.logout(session)
    board.misbehave = on("/api/dashboard", answer(429, GOOD_LOCKED, {"Retry-After": "7"}))
    with pytest.raises(ProtocolError):
        client.dashboard(session)
