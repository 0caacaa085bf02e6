"""`python -m client`: the forms and exit codes that outside tests rely on."""
# ruff: noqa: S105, S106

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from client.cli import _print_dashboard, app, main
from client.tests.fake_board import FakeBoard
from client.tests.servers import raw_server, uvicorn_tls

Cert = tuple[Path, Path, bytes]
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def tls_board(board_cert: Cert) -> Iterator[tuple[str, FakeBoard]]:
    fake = FakeBoard(now=time.time(), lock_s=300)
    with uvicorn_tls(fake.asgi, board_cert[0], board_cert[1]) as url:
        yield url, fake


def account(fake: FakeBoard, name: str) -> str:
    """A fresh account per test: codes are single-use per step (TOTP-4)."""
    return fake.add(name, "correct horse").secret


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "client", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def scripted_login(url: str, username: str, secret: str, ca: Path):
    """`login` as a script runs it: password on stdin, codes from the TOTP secret."""
    return run(
        "login", "--server", url, "--username", username, "--ca-cert", str(ca),
        "--password-stdin", "--totp-secret", secret,
        stdin="correct horse\n",
    )  # fmt: skip


def test_no_arguments_prints_help() -> None:
    result = run()
    assert result.returncode == 0
    assert "login" in result.stdout and "demo-totp" in result.stdout
    assert "3 account locked" in result.stdout.replace("\n", " ")


def test_demo_totp_once_agrees_with_pyotp() -> None:
    secret = pyotp.random_base32()
    before = pyotp.TOTP(secret).now()
    result = runner.invoke(app, ["demo-totp", "--secret", secret, "--once"])
    after = pyotp.TOTP(secret).now()
    assert result.exit_code == 0
    assert result.output.strip() in {f"Demo TOTP: {before}", f"Demo TOTP: {after}"}


@pytest.mark.skipif(shutil.which("oathtool") is None, reason="Debian's oathtool is not installed")
@pytest.mark.parametrize(
    "secret, short",
    [
        (pyotp.random_base32(), False),
        ("JBSWY3DPEHPK3PXP", True),  # 80 bits: every authenticator tutorial's, and the README's
    ],
)
def test_demo_totp_once_agrees_with_oathtool(secret: str, short: bool) -> None:
    for _ in range(3):  # retry only if a step boundary fell between the two runs
        ours = run("demo-totp", "--secret", secret, "--once")
        theirs = subprocess.run(
            ["oathtool", "--totp", "-b", secret], capture_output=True, text=True, check=True
        )
        assert ours.returncode == 0, ours.stderr
        if ours.stdout.strip() == f"Demo TOTP: {theirs.stdout.strip()}":
            break
    else:
        pytest.fail(f"{ours.stdout!r} disagrees with oathtool's {theirs.stdout!r}")
    # a short secret works, as in any authenticator app, with a word about its length
    assert ("80 bits" in ours.stderr) is short


def test_demo_totp_refuses_a_bad_secret() -> None:
    result = runner.invoke(app, ["demo-totp", "--secret", "not base32!", "--once"])
    assert result.exit_code == 2
    assert "base32" in result.output


def test_login_with_totp_secret_over_https(tls_board: tuple[str, FakeBoard], board_cert: Cert):
    url, fake = tls_board
    secret = account(fake, "cli-ok")
    result = scripted_login(url, "cli-ok", secret, board_cert[0])
    assert result.returncode == 0, result.stderr
    assert "Access granted" in result.stdout and "cli-ok" in result.stdout
    assert "correct horse" not in result.stdout + result.stderr
    assert fake.paths()[-1] == "POST /api/auth/logout"


def test_login_prompts_like_the_seed(tls_board: tuple[str, FakeBoard], board_cert: Cert) -> None:
    url, fake = tls_board
    account(fake, "cli-prompt")
    code = fake.code("cli-prompt")
    result = runner.invoke(
        app,
        ["login", "--server", url, "--username", "cli-prompt", "--ca-cert", str(board_cert[0])],
        input=f"correct horse\n{code[:3]} {code[3:]}\n",  # as an authenticator app shows it
    )
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "TOTP code" in result.output
    assert "Access granted" in result.output


def test_password_env(tls_board: tuple[str, FakeBoard], board_cert: Cert) -> None:
    url, fake = tls_board
    secret = account(fake, "cli-env")
    args = ["login", "--server", url, "--username", "cli-env", "--ca-cert", str(board_cert[0])]
    result = runner.invoke(
        app,
        [*args, "--password-env", "BOARD_PW", "--totp-secret", secret],
        env={"BOARD_PW": "correct horse"},
    )
    assert result.exit_code == 0, result.output
    missing = runner.invoke(
        app, [*args, "--password-env", "NO_SUCH_VAR_X", "--totp-secret", secret]
    )
    assert missing.exit_code == 2 and "NO_SUCH_VAR_X" in missing.output


def test_wrong_code_and_wrong_password_exit_2(
    tls_board: tuple[str, FakeBoard], board_cert: Cert
) -> None:
    url, fake = tls_board
    account(fake, "cli-wrong")
    args = ["login", "--server", url, "--username", "cli-wrong", "--ca-cert", str(board_cert[0])]
    other_secret = pyotp.random_base32()
    result = run(*args, "--password-stdin", "--totp-secret", other_secret, stdin="correct horse\n")
    assert result.returncode == 2, result.stderr
    assert "Access granted" not in result.stdout
    wrong_pw = runner.invoke(
        app, [*args, "--password-stdin", "--totp-secret", other_secret], input="nope\n"
    )
    assert wrong_pw.exit_code == 2


def test_lockout_exit_3_says_the_seconds(
    tls_board: tuple[str, FakeBoard], board_cert: Cert
) -> None:
    url, fake = tls_board
    secret = account(fake, "cli-locked")
    args = ["login", "--server", url, "--username", "cli-locked", "--ca-cert", str(board_cert[0])]
    for _ in range(5):
        wrong = runner.invoke(
            app, [*args, "--password-stdin", "--totp-secret", secret], input="x\n"
        )
        assert wrong.exit_code == 2
    result = run(*args, "--password-stdin", "--totp-secret", secret, stdin="correct horse\n")
    assert result.returncode == 3
    seconds = re.search(r"(\d+) seconds", result.stderr)
    assert seconds is not None and 1 <= int(seconds.group(1)) <= 300


def test_untrusted_certificate_exit_4(tls_board: tuple[str, FakeBoard], other_cert: Cert) -> None:
    url, fake = tls_board
    secret = account(fake, "cli-tls")
    before = len(fake.received)
    for trust in ([], ["--ca-cert", str(other_cert[0])], ["--pin-sha256", "ab" * 32]):
        result = run(
            "login", "--server", url, "--username", "cli-tls", *trust,
            "--password-stdin", "--totp-secret", secret,
            stdin="correct horse\n",
        )  # fmt: skip
        assert result.returncode == 4, (trust, result.stderr)
    assert len(fake.received) == before


def test_garbage_server_exit_5() -> None:
    with raw_server(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nAccess granted") as url:
        result = run("info", "--server", url)
        assert result.returncode == 5, result.stderr
        login = run(
            "login", "--server", url, "--username", "u", "--password-stdin",
            "--totp-secret", pyotp.random_base32(),
            stdin="pw\n",
        )  # fmt: skip
        assert login.returncode == 5
        assert "Access granted" not in login.stdout


def test_unreachable_server_exit_4() -> None:
    with raw_server(b"") as url:
        port = url.rsplit(":", 1)[1]
    result = runner.invoke(app, ["info", "--server", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 4


def test_info_shows_policy_and_offset(tls_board: tuple[str, FakeBoard], board_cert: Cert) -> None:
    url, _ = tls_board
    result = runner.invoke(app, ["info", "--server", url, "--ca-cert", str(board_cert[0])])
    assert result.exit_code == 0, result.output
    assert "test" in result.output and "clock offset" in result.output


def test_skewed_server_clock_is_reported(board_cert: Cert) -> None:
    fake = FakeBoard(now=time.time() + 120)
    secret = fake.add("skewed", "correct horse").secret
    with uvicorn_tls(fake.asgi, board_cert[0], board_cert[1]) as url:
        result = scripted_login(url, "skewed", secret, board_cert[0])
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and "behind" in result.stderr


def test_main_returns_exit_codes() -> None:
    assert main(["demo-totp", "--secret", pyotp.random_base32(), "--once"]) == 0
    assert main(["demo-totp", "--secret", "!", "--once"]) == 2
    assert main(["login"]) == 2  # a usage error (missing --server)


def test_demo_totp_runs_until_interrupted() -> None:
    secret = pyotp.random_base32()
    process = subprocess.Popen(
        [sys.executable, "-m", "client", "demo-totp", "--secret", secret],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        codes = {pyotp.TOTP(secret).at(time.time() + d) for d in (-1, 0)}
        assert re.fullmatch(r"Demo TOTP: (\d{6})  \(valid for \d+ s\)\n", line), line
        assert line.split()[2] in codes
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_server_text_cannot_drive_the_terminal() -> None:
    from client.cli import _printable

    assert _printable("ok\x1b[2J\x07name") == "ok\ufffd[2J\ufffdname"


def test_dashboard_gives_the_session_length_as_people_say_it(capsys) -> None:
    """Whole seconds on the wire with the expiry rounded up: 3601 s apart is a 60 min session."""
    issued = 1_800_000_000
    _print_dashboard(
        {
            "user": {"username": "alice"},
            "session": {"issued_at": issued, "expires_at": issued + 3601},
        }
    )
    out = capsys.readouterr().out
    assert "(60 min after)" in out and "3601" not in out
