"""AuthClient against the fake board in-process (httpx.MockTransport)."""
# ruff: noqa: S105, S106

from __future__ import annotations

import json
import warnings

import pyotp
import pytest

from client import (
    AccountLocked,
    AuthClient,
    ChallengeExpired,
    ClockNotSynced,
    ClockSkewWarning,
    InvalidCode,
    InvalidCredentials,
    SessionExpired,
)
from client.tests.conftest import Ticker
from client.tests.fake_board import FakeBoard


def secret(board: FakeBoard, username: str = "alice") -> str:
    return board.accounts[username].secret


def test_full_flow_login_verify_dashboard_logout(client: AuthClient, board: FakeBoard) -> None:
    challenge = client.login("alice", "correct horse")
    assert challenge.username == "alice" and challenge.expires_in == board.challenge_ttl_s
    session = client.verify(challenge, totp_code=board.code("alice"))
    assert session.token_type == "Bearer" and session.expires_in == board.session_ttl_s
    dashboard = client.dashboard(session)
    assert dashboard["user"] == {"username": "alice"}
    client.logout(session)
    with pytest.raises(SessionExpired):
        client.dashboard(session)
    assert board.paths() == [
        "POST /api/auth/login",
        "POST /api/auth/verify",
        "GET /api/dashboard",
        "POST /api/auth/logout",
        "GET /api/dashboard",
    ]


def test_requests_are_shaped_as_the_spec_says(client: AuthClient, board: FakeBoard) -> None:
    session = client.authenticate("alice", "correct horse", totp_code=board.code("alice"))
    client.dashboard(session)
    (_, _, login_headers, login_body, _), (_, _, verify_headers, verify_body, _) = board.received[
        :2
    ]
    assert login_headers["content-type"] == "application/json"
    assert json.loads(login_body) == {"username": "alice", "password": "correct horse"}
    assert verify_headers["content-type"] == "application/json"
    issued = json.loads(board.received[0][3])  # what the board saw
    assert issued["username"] == "alice"
    verify_json = json.loads(verify_body)
    assert set(verify_json) == {"challenge_token", "totp_code"}
    assert verify_json["totp_code"] == board.code("alice")
    assert verify_json["challenge_token"] in board.challenges or not board.challenges
    dashboard_headers = board.received[2][2]
    assert dashboard_headers["authorization"] == f"Bearer {session.token}"
    assert "authorization" not in login_headers and "authorization" not in verify_headers


def test_authenticate_with_secret_measures_the_clock_first(
    client: AuthClient, board: FakeBoard
) -> None:
    session = client.authenticate("alice", "correct horse", totp_secret=secret(board))
    assert client.dashboard(session)["user"]["username"] == "alice"
    assert board.paths()[0] == "GET /api/info"


def test_authenticate_with_code_provider_asks_after_the_password(
    client: AuthClient, board: FakeBoard
) -> None:
    asked: list[list[str]] = []

    def provider() -> str:
        asked.append(board.paths())
        return board.code("alice")

    client.authenticate("alice", "correct horse", code_provider=provider)
    assert asked == [["POST /api/auth/login"]]


def test_wrong_password_and_wrong_code(client: AuthClient, board: FakeBoard) -> None:
    with pytest.raises(InvalidCredentials):
        client.login("alice", "wrong")
    with pytest.raises(InvalidCredentials):
        client.login("mallory", "whatever")
    challenge = client.login("alice", "correct horse")
    wrong = "000000" if board.code("alice") != "000000" else "111111"
    with pytest.raises(InvalidCode):
        client.verify(challenge, totp_code=wrong)
    # A wrong code does not consume the challenge (DECISIONS.md).
    assert client.verify(challenge, totp_code=board.code("alice")).token_type == "Bearer"


def test_replayed_code_is_an_invalid_code(client: AuthClient, board: FakeBoard) -> None:
    client.authenticate("alice", "correct horse", totp_code=board.code("alice"))
    with pytest.raises(InvalidCode):
        client.authenticate("alice", "correct horse", totp_code=board.code("alice"))


def test_lockout_is_honoured_without_sending(
    client: AuthClient, board: FakeBoard, ticker: Ticker
) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            client.login("alice", "wrong")
    with pytest.raises(AccountLocked) as locked:
        client.login("alice", "correct horse")
    assert locked.value.retry_after == board.lock_s
    sent = len(board.received)
    ticker.value += 2
    board.now += 2
    # Neither login, verify nor authenticate sends anything until Retry-After has passed.
    for attempt in (
        lambda: client.login("alice", "correct horse"),
        lambda: client.authenticate("alice", "correct horse", totp_secret=secret(board)),
    ):
        with pytest.raises(AccountLocked) as again:
            attempt()
        assert again.value.retry_after == board.lock_s - 2
    assert len(board.received) == sent
    assert client.locked_for("alice") == 3
    # Another account is not held back.
    with pytest.raises(InvalidCredentials):
        client.login("bob", "x")
    ticker.value += 3
    board.now += 3
    assert client.locked_for("alice") == 0
    session = client.authenticate("alice", "correct horse", totp_code=board.code("alice"))
    assert client.dashboard(session)["user"]["username"] == "alice"


def test_lockout_during_verify_holds_the_account(
    client: AuthClient, board: FakeBoard, ticker: Ticker
) -> None:
    challenge = client.login("alice", "correct horse")
    right = board.code("alice")
    wrong = next(c for c in ("000000", "111111", "222222") if c not in {right})
    for _ in range(5):
        with pytest.raises(InvalidCode):
            client.verify(challenge, totp_code=wrong)
    with pytest.raises(AccountLocked):
        client.verify(challenge, totp_code=right)
    sent = len(board.received)
    with pytest.raises(AccountLocked):
        client.verify(challenge, totp_code=right)
    assert len(board.received) == sent


def test_expired_challenge(client: AuthClient, board: FakeBoard) -> None:
    challenge = client.login("alice", "correct horse")
    board.now += board.challenge_ttl_s
    with pytest.raises(ChallengeExpired):
        client.verify(challenge, totp_code=board.code("alice"))


def test_expired_session(client: AuthClient, board: FakeBoard) -> None:
    session = client.authenticate("alice", "correct horse", totp_code=board.code("alice"))
    board.now += board.session_ttl_s
    with pytest.raises(SessionExpired):
        client.dashboard(session)
    with pytest.raises(SessionExpired):
        client.logout(session)


def test_clock_not_synced(client: AuthClient, board: FakeBoard) -> None:
    board.time_synced = False
    assert client.info().time_synced is False
    challenge = client.login("alice", "correct horse")
    with pytest.raises(ClockNotSynced):
        client.verify(challenge, totp_code=board.code("alice"))


@pytest.mark.parametrize("skew", [-100.0, 100.0, -3600.0])
def test_clock_offset_warns_and_codes_use_server_time(board: FakeBoard, skew: float) -> None:
    """The local clock is `skew` seconds off: a warning, and the computed code still works."""
    with AuthClient(
        "https://board.test", transport=board.transport(), clock=lambda: board.now - skew
    ) as auth:
        with pytest.warns(ClockSkewWarning, match="clock"):
            facts = auth.info()
        assert facts.clock_offset == pytest.approx(skew, abs=1)
        assert facts.date_offset == pytest.approx(skew, abs=1)
        session = auth.authenticate("alice", "correct horse", totp_secret=secret(board))
        assert auth.dashboard(session)["user"]["username"] == "alice"


def test_small_offset_does_not_warn(board: FakeBoard) -> None:
    with (
        AuthClient(
            "https://board.test", transport=board.transport(), clock=lambda: board.now - 5
        ) as auth,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error")
        facts = auth.info()
    assert facts.clock_offset == pytest.approx(5, abs=1)
    assert facts.profile == "test" and facts.lockout["max_failures"] == 5


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.login("", "pw"),
        lambda c: c.login("a" * 65, "pw"),
        lambda c: c.login("alice", ""),
        lambda c: c.login("alice", "p" * 257),
        lambda c: c.login("alice", "é" * 256),  # over the 1024-byte body limit once encoded
        lambda c: c.authenticate("alice", "pw", totp_code="12345"),
        lambda c: c.authenticate("alice", "pw", totp_code="١٢٣٤٥٦"),  # Arabic-Indic digits
        lambda c: c.authenticate("alice", "pw", totp_code="12345a"),
        lambda c: c.authenticate("alice", "pw", totp_secret="not base32!"),
        lambda c: c.authenticate("alice", "pw"),
        lambda c: c.authenticate("alice", "pw", totp_code="123456", totp_secret="A" * 32),
    ],
)
def test_bad_input_is_refused_before_sending(
    client: AuthClient, board: FakeBoard, call: object
) -> None:
    with pytest.raises(ValueError):
        call(client)  # type: ignore[operator]
    assert board.received == []


def test_verify_needs_exactly_one_code(client: AuthClient, board: FakeBoard) -> None:
    challenge = client.login("alice", "correct horse")
    with pytest.raises(ValueError):
        client.verify(challenge)
    with pytest.raises(ValueError):
        client.verify(challenge, totp_code="123456", backup_code="abc")
    with pytest.raises(ValueError):
        client.verify(challenge, backup_code="x" * 33)
    assert len(board.received) == 1


def test_backup_code_is_sent_as_backup_code(client: AuthClient, board: FakeBoard) -> None:
    challenge = client.login("alice", "correct horse")
    # The fake, like a server without SESS-6, refuses the field as a malformed body.
    with pytest.raises(InvalidCode, match="backup codes"):
        client.verify(challenge, backup_code="abcde-fghij")
    assert json.loads(board.received[-1][3]) == {
        "challenge_token": challenge.token,
        "backup_code": "abcde-fghij",
    }


def test_tokens_never_appear_in_repr(client: AuthClient, board: FakeBoard) -> None:
    challenge = client.login("alice", "correct horse")
    session = client.verify(challenge, totp_code=board.code("alice"))
    assert challenge.token not in repr(challenge)
    assert session.token not in repr(session) and session.token not in str(session)


def test_constructor_refuses_pins_over_plain_http() -> None:
    with pytest.raises(ValueError):
        AuthClient("http://127.0.0.1:8000", pin_sha256="00" * 32)
    with pytest.raises(ValueError):
        AuthClient("ftp://board")


def test_demo_secret_codes_agree_with_pyotp(board: FakeBoard) -> None:
    from client import totp

    for t in (0, 59, 1_111_111_109, 2_000_000_000, 20_000_000_000):
        assert totp.code_at(secret(board), t) == pyotp.TOTP(secret(board)).at(t)
