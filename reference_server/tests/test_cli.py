# ruff: noqa: S106 - test credentials
"""The command line: exact flags, refusals, the target profile, account administration."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import signal
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from reference_server.cli import main
from reference_server.core.lockout import ThrottleState
from reference_server.store import Store
from reference_server.tls import make_self_signed

from .conftest import checked_client
from .test_live import serve_cmd, start_process, stop_process


@pytest.mark.slow
def test_serve_writes_a_working_target_profile_over_tls(tmp_path):
    cert, key = make_self_signed(str(tmp_path))
    profile_path = tmp_path / "sub" / "target.toml"
    audit_log = tmp_path / "audit.jsonl"
    tls = ("--tls-cert", cert, "--tls-key", key, "--audit-log", str(audit_log))
    cmd = serve_cmd(tmp_path, tmp_path / "s.db", profile_path, *tls)
    cmd[cmd.index("--test-accounts") + 1] = "4"
    proc, profile = start_process(cmd, profile_path)
    try:
        assert profile["base_url"].startswith("https://127.0.0.1:")
        assert profile["name"] == "reference server"  # the suite's title adds "(test profile)"
        assert profile["ca_cert"] == cert
        assert [a["username"] for a in profile["accounts"]] == [
            f"conformance-{i}" for i in range(1, 5)
        ]
        assert all(len(a["backup_codes"]) == 10 for a in profile["accounts"])
        assert (profile_path.stat().st_mode & 0o077) == 0  # it holds passwords
        account = profile["accounts"][2]
        ctx = ssl.create_default_context(cafile=profile["ca_cert"])
        with checked_client(base_url=profile["base_url"], verify=ctx) as c:
            info = c.get("/api/info").json()
            assert info["profile"] == "test" and info["session_ttl_s"] == 5
            r = c.post(
                "/api/auth/login",
                json={"username": account["username"], "password": account["password"]},
            )
            token = r.json()["challenge_token"]
            code = pyotp.TOTP(account["totp_secret"]).now()
            r = c.post("/api/auth/verify", json={"challenge_token": token, "totp_code": code})
            assert r.status_code == 200
            session = r.json()["session_token"]
            r = c.get("/api/dashboard", headers={"Authorization": f"Bearer {session}"})
            assert r.json()["user"]["username"] == account["username"]
    finally:
        stop_process(proc)
    lines = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert [(e["event"], e["outcome"], e["source"]) for e in lines] == [
        ("login", "challenge_issued", "127.0.0.1"),
        ("verify", "success", "127.0.0.1"),
    ]
    assert account["password"] not in audit_log.read_text()


@pytest.mark.slow
def test_serve_self_signed_audit_beside_the_db_and_a_clean_stop(tmp_path):
    """--self-signed: HTTPS whose CA the profile carries; audit lines in their own file, not on
    the console; SIGTERM removes the throwaway certificate and the restart marker."""
    profile_path = tmp_path / "t.toml"
    proc, profile = start_process(
        serve_cmd(tmp_path, tmp_path / "s.db", profile_path, "--self-signed"), profile_path
    )
    try:
        assert profile["base_url"].startswith("https://127.0.0.1:")
        ca = Path(profile["ca_cert"])
        account = profile["accounts"][0]
        ctx = ssl.create_default_context(cafile=str(ca))
        with checked_client(base_url=profile["base_url"], verify=ctx) as c:
            wrong = {"username": account["username"], "password": "not-it"}
            assert c.post("/api/auth/login", json=wrong).status_code == 401
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert b"scheme: HTTPS" in out and str(tmp_path / "s.audit.jsonl").encode() in out
    audit_log = tmp_path / "s.audit.jsonl"
    assert json.loads(audit_log.read_text())["outcome"] == "invalid_credentials"
    assert (audit_log.stat().st_mode & 0o077) == 0
    assert b"invalid_credentials" not in out + err
    assert not ca.parent.exists()
    assert not (tmp_path / "t.toml.generation").exists()


@contextlib.contextmanager
def plain_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, dict, dict[str, bytes]]]:
    """`serve` over plain HTTP with test accounts; its stdout/stderr in the dict once stopped."""
    profile_path = tmp_path / "t.toml"
    proc, profile = start_process(
        serve_cmd(tmp_path, tmp_path / "s.db", profile_path), profile_path
    )
    output: dict[str, bytes] = {}
    try:
        yield proc, profile, output
    finally:
        proc.terminate()
        try:
            output["out"], output["err"] = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()  # a server that does not stop fails the test, and is not left behind
            proc.communicate()
            raise


@pytest.mark.slow
def test_serve_plain_http_on_loopback_says_so(tmp_path):
    with plain_server(tmp_path) as (_, profile, output):
        assert profile["base_url"].startswith("http://127.0.0.1:")
        assert "ca_cert" not in profile
    assert b"plain HTTP" in output["out"]
    assert profile["base_url"].encode() in output["out"]


@pytest.mark.slow
def test_restart_command_restarts_from_the_database(tmp_path):
    """The profile's restart_command (LOCK-6): same address, state reopened, the lock kept."""
    with plain_server(tmp_path) as (proc, profile, output):
        account = profile["accounts"][0]
        wrong = {"username": account["username"], "password": "not-the-password"}
        with checked_client(base_url=profile["base_url"]) as c:
            for _ in range(5):
                assert c.post("/api/auth/login", json=wrong).status_code == 401
        done = subprocess.run(shlex.split(profile["restart_command"]), timeout=60, check=False)
        assert done.returncode == 0
        assert proc.poll() is None
        with checked_client(base_url=profile["base_url"]) as c:
            right = {"username": account["username"], "password": account["password"]}
            r = c.post("/api/auth/login", json=right)
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
            other = profile["accounts"][1]
            r = c.post(
                "/api/auth/login",
                json={"username": other["username"], "password": other["password"]},
            )
            assert r.status_code == 200
    assert b"restarting" in output["err"]
    assert output["out"].count(profile["base_url"].encode()) == 2
    marker = Path(shlex.split(profile["restart_command"])[-1])
    assert marker.parent == tmp_path  # beside the target profile, not left in a shared folder


@pytest.mark.slow
def test_ctrl_c_after_requests_stops_the_server(tmp_path):
    """Ctrl-C once a request was served (and after a restart): the server exits, status 0."""
    profile_path = tmp_path / "t.toml"
    proc, profile = start_process(
        serve_cmd(tmp_path, tmp_path / "s.db", profile_path), profile_path
    )
    try:
        with checked_client(base_url=profile["base_url"]) as c:
            assert c.post("/api/auth/login", json={"username": "x", "password": "y"}).status_code
        restart = subprocess.run(shlex.split(profile["restart_command"]), timeout=60, check=False)
        assert restart.returncode == 0
        with checked_client(base_url=profile["base_url"]) as c:
            assert c.post("/api/auth/login", json={"username": "x", "password": "y"}).status_code
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        stop_process(proc)


@pytest.mark.slow
def test_restart_command_works_from_another_directory(tmp_path):
    """Paths given relative to the server's directory; the suite runs the command elsewhere."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    cmd = serve_cmd(here, Path("s.db"), Path("t.toml"))
    proc, profile = start_process(cmd, here / "t.toml", cwd=here)
    try:
        restart = shlex.split(profile["restart_command"])
        done = subprocess.run(restart, cwd=elsewhere, timeout=60, check=False)
        assert done.returncode == 0
        assert proc.poll() is None
        assert (here / "t.toml.generation").read_text().split()[1] == "1"  # restarted once
    finally:
        stop_process(proc)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    "flag, value", [("--lockout-seconds", "5"), ("--session-ttl", "5"), ("--challenge-ttl", "5")]
)
def test_production_refuses_duration_overrides(capsys, flag, value):
    assert main(["serve", "--profile", "production", flag, value, "--db", ":memory:"]) == 2
    assert "production" in capsys.readouterr().err


def test_non_loopback_without_tls_refused(capsys):
    assert main(["serve", "--host", "0.0.0.0", "--db", ":memory:"]) == 2
    assert "--insecure-http" in capsys.readouterr().err


def test_test_accounts_need_the_test_profile(capsys, tmp_path):
    argv = ["serve", "--test-accounts", "2", "--write-target-profile", str(tmp_path / "p.toml")]
    assert main([*argv, "--db", ":memory:"]) == 2
    assert "--profile test" in capsys.readouterr().err


def test_user_administration(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "admin.db")
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["add-user", "alice", "--db", db, "--password-stdin"]) == 0
    out = capsys.readouterr().out
    assert "otpauth://totp/pico-tfa:alice?secret=" in out and "&issuer=pico-tfa" in out
    codes = [line.strip() for line in out.splitlines() if len(line.strip()) == 11]
    assert len(codes) == 10
    secret = out.split("secret=")[1].split("&")[0]
    assert len(secret) == 32  # 160 bits in base32

    monkeypatch.setattr("sys.stdin", io.StringIO("again\n"))
    assert main(["add-user", "alice", "--db", db, "--password-stdin"]) == 2

    assert main(["list-users", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("alice\t0 failures")

    store = Store(db)
    with store.transaction() as tx:
        account = tx.account("alice")
        assert "correct horse" not in account.password_hash
        assert account.password_hash.startswith("$argon2id$")
        tx.put_throttle("alice", ThrottleState(0, 4e9, 1), 0)
    store.close()
    assert main(["list-users", "--db", db]) == 0
    assert "locked" in capsys.readouterr().out
    assert main(["reset-lockout", "alice", "--db", db]) == 0
    assert main(["list-users", "--db", db]) == 0
    assert "0 failures" in capsys.readouterr().out
    assert main(["remove-user", "alice", "--db", db]) == 0
    assert main(["remove-user", "alice", "--db", db]) == 1
