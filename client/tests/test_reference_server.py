"""The client against the real reference server (reference_server.embedded), over HTTPS."""
# ruff: noqa: S105, S106

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    TLSError,
)
from client.tests.conftest import Ticker

embedded = pytest.importorskip("reference_server.embedded")
REPO = Path(__file__).resolve().parents[2]


class Reference:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.url: str = server.start()
        self.ca: str = server.cert_path
        self.accounts = list(server.target_profile()["accounts"])

    def take(self) -> dict[str, Any]:
        """An account no other test has touched (codes are single-use per step, TOTP-4)."""
        return self.accounts.pop()


@pytest.fixture(scope="module")
def reference() -> Iterator[Reference]:
    server = embedded.EmbeddedServer(profile="test", accounts=16, tls=True)
    try:
        yield Reference(server)
    finally:
        server.close()


def test_full_flow(reference: Reference) -> None:
    account = reference.take()
    with AuthClient(reference.url, ca_cert=reference.ca) as auth:
        facts = auth.info()
        assert facts.profile == "test" and facts.totp["period"] == 30
        session = auth.authenticate(
            account["username"], account["password"], totp_secret=account["totp_secret"]
        )
        assert session.expires_in == facts.session_ttl_s
        dashboard = auth.dashboard(session)
        assert dashboard["user"]["username"] == account["username"]
        auth.logout(session)
        with pytest.raises(SessionExpired):
            auth.dashboard(session)


def test_wrong_password_wrong_code_and_replay(reference: Reference) -> None:
    account = reference.take()
    user, password, secret = account["username"], account["password"], account["totp_secret"]
    with AuthClient(reference.url, ca_cert=reference.ca) as auth:
        with pytest.raises(InvalidCredentials):
            auth.login(user, password + "x")
        with pytest.raises(InvalidCredentials):
            auth.login("nobody-" + user, password)
        auth.info()
        code = pyotp.TOTP(secret).at(int(auth.server_now()))
        wrong = next(c for c in ("000000", "111111", "222222") if c != code)
        challenge = auth.login(user, password)
        with pytest.raises(InvalidCode):
            auth.verify(challenge, totp_code=wrong)
        auth.verify(challenge, totp_code=code)
        with pytest.raises(InvalidCode):  # the same code again: a replay
            auth.authenticate(user, password, totp_code=code)


def test_lockout_is_honoured(reference: Reference) -> None:
    account = reference.take()
    ticker = Ticker()
    with AuthClient(reference.url, ca_cert=reference.ca, monotonic=ticker) as auth:
        lock_s = auth.info().lockout["duration_s"]
        for _ in range(5):
            with pytest.raises(InvalidCredentials):
                auth.login(account["username"], "wrong password")
        with pytest.raises(AccountLocked) as locked:
            auth.authenticate(
                account["username"], account["password"], totp_secret=account["totp_secret"]
            )
        assert 1 <= locked.value.retry_after <= lock_s + 1
        assert auth.locked_for(account["username"]) == locked.value.retry_after
        reference.server.clock.advance(lock_s + 1)
        ticker.value += lock_s + 1
        session = auth.authenticate(
            account["username"], account["password"], totp_secret=account["totp_secret"]
        )
        assert auth.dashboard(session)["user"]["username"] == account["username"]


def test_expired_challenge_and_session(reference: Reference) -> None:
    account = reference.take()
    with AuthClient(reference.url, ca_cert=reference.ca) as auth:
        facts = auth.info()
        challenge = auth.login(account["username"], account["password"])
        reference.server.clock.advance(facts.challenge_ttl_s + 1)
        with pytest.raises(ChallengeExpired):
            auth.verify(challenge, totp_code=pyotp.TOTP(account["totp_secret"]).at(0))
        auth.info()
        session = auth.authenticate(
            account["username"], account["password"], totp_secret=account["totp_secret"]
        )
        reference.server.clock.advance(facts.session_ttl_s + 1)
        with pytest.raises(SessionExpired):
            auth.dashboard(session)


def test_backup_code(reference: Reference) -> None:
    account = reference.take()
    backup = account["backup_codes"][0]
    with AuthClient(reference.url, ca_cert=reference.ca) as auth:
        session = auth.verify(
            auth.login(account["username"], account["password"]), backup_code=backup
        )
        assert auth.dashboard(session)["user"]["username"] == account["username"]
        with pytest.raises(InvalidCode):
            auth.verify(auth.login(account["username"], account["password"]), backup_code=backup)


def test_server_clock_ahead_warns_and_still_logs_in(reference: Reference) -> None:
    account = reference.take()
    reference.server.clock.advance(120)
    with AuthClient(reference.url, ca_cert=reference.ca) as auth:
        with pytest.warns(ClockSkewWarning):
            facts = auth.info()
        assert facts.clock_offset > 100
        session = auth.authenticate(
            account["username"], account["password"], totp_secret=account["totp_secret"]
        )
        assert auth.dashboard(session)["status"] == "success"


def test_untrusted_without_the_ca(reference: Reference) -> None:
    with AuthClient(reference.url) as auth, pytest.raises(TLSError):
        auth.info()


def test_clock_not_synced() -> None:
    server = embedded.EmbeddedServer(profile="test", accounts=1, time_synced=lambda: False)
    try:
        url = server.start()
        account = server.target_profile()["accounts"][0]
        with AuthClient(url) as auth:
            assert auth.info().time_synced is False
            with pytest.raises(ClockNotSynced):
                auth.authenticate(
                    account["username"], account["password"], totp_secret=account["totp_secret"]
                )
    finally:
        server.close()


def cli(reference: Reference, account: dict[str, Any], *extra: str, secret: str | None = None):
    return subprocess.run(
        [
            sys.executable, "-m", "client", "login", "--server", reference.url,
            "--username", account["username"], "--password-env", "TFA_TEST_PASSWORD",
            "--totp-secret", secret or account["totp_secret"], *extra,
        ],
        env={**os.environ, "TFA_TEST_PASSWORD": account["password"]},
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip


def test_cli_exit_codes(reference: Reference) -> None:
    ok, wrong, locked = reference.take(), reference.take(), reference.take()
    result = cli(reference, ok, "--ca-cert", reference.ca)
    assert result.returncode == 0, result.stderr
    assert "Access granted" in result.stdout and ok["username"] in result.stdout

    result = cli(reference, wrong, "--ca-cert", reference.ca, secret=pyotp.random_base32())
    assert result.returncode == 2, result.stderr

    for _ in range(5):
        assert (
            cli(
                reference, locked, "--ca-cert", reference.ca, secret=pyotp.random_base32()
            ).returncode
            == 2
        )
    result = cli(reference, locked, "--ca-cert", reference.ca)
    assert result.returncode == 3, result.stderr
    assert re.search(r"try again in \d+ seconds", result.stderr)

    assert cli(reference, ok).returncode == 4  # the board's certificate is not in the system store


def test_cli_backup_code(reference: Reference) -> None:
    account = reference.take()
    args = [
        sys.executable, "-m", "client", "login", "--server", reference.url, "--ca-cert",
        reference.ca, "--username", account["username"], "--password-stdin", "--backup-code",
    ]  # fmt: skip
    stdin = f"{account['password']}\n{account['backup_codes'][0]}\n"
    first = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert first.returncode == 0, first.stderr
    assert "Access granted" in first.stdout
    again = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert again.returncode == 2  # single-use (SESS-6)
