"""The emulator as others use it: HTTPS on the default heap, a full login checked with pyotp,
a valid target profile, state kept across a restart, screenshots, plain HTTP, no clock."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyotp
import pytest

from conformance.profile import load_profile
from pico_firmware.host import emulator as emu
from pico_firmware.host.tests.conftest import REPO, Running, free_port, start_emulator

pytestmark = pytest.mark.slow


def _client(running: Running) -> httpx.Client:
    p = running.profile
    verify = ssl.create_default_context(cafile=p["ca_cert"])
    return httpx.Client(base_url=p["base_url"], verify=verify, timeout=20)


def test_profile_is_valid_and_https(emulator: Running) -> None:
    profile = load_profile(emulator.profile_path)
    assert profile.base_url.startswith("https://127.0.0.1:")
    assert len(profile.accounts) >= 4
    assert emulator.profile["ca_cert"].endswith(".pem")
    assert emulator.profile["accounts"][0]["username"] == "conformance-1"
    assert all(len(a["backup_codes"]) >= 1 for a in emulator.profile["accounts"])


def test_full_login_flow_checked_with_pyotp(emulator: Running) -> None:
    account = emulator.profile["accounts"][0]
    with _client(emulator) as c:
        info = c.get("/api/info").json()
        assert info["api_version"] == "1" and info["time_synced"] is True
        assert info["profile"] == "test" and abs(info["server_time"] - time.time()) <= 2
        r = c.post(
            "/api/auth/login",
            json={"username": account["username"], "password": account["password"]},
        )
        assert r.status_code == 200 and r.json()["status"] == "2fa_required"
        code = pyotp.TOTP(account["totp_secret"]).at(info["server_time"])
        r = c.post(
            "/api/auth/verify",
            json={"challenge_token": r.json()["challenge_token"], "totp_code": code},
        )
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        bearer = {"Authorization": "Bearer " + r.json()["session_token"]}
        r = c.get("/api/dashboard", headers=bearer)
        assert r.status_code == 200 and r.json()["user"] == {"username": account["username"]}
        assert c.post("/api/auth/logout", headers=bearer).status_code == 204
        assert c.get("/api/dashboard", headers=bearer).status_code == 401


def test_heap_stays_in_budget_without_memory_errors(emulator: Running) -> None:
    with _client(emulator) as c:
        for _ in range(3):
            c.post("/api/auth/login", json={"username": "conformance-4", "password": "wrong"})
            c.post("/api/auth/login", content=b"x" * 3000, headers={"content-type": "text/x"})
            c.get("/api/info", headers={"X-Pad": "a" * 5000})
        server = c.get("/api/info").json()["server"]
    budget = int(emu.DEFAULT_HEAP.rstrip("K")) * 1024
    assert 0 < server["heap_peak"] < budget
    assert "MemoryError" not in emulator.output()
    assert "Traceback" not in emulator.output()


def test_lock_survives_a_restart(tmp_path: Path) -> None:
    running = start_emulator(tmp_path)
    try:
        with _client(running) as c:
            for _ in range(5):
                r = c.post("/api/auth/login", json={"username": "conformance-2", "password": "x"})
                assert r.status_code == 401
        restart = running.profile["restart_command"]
        subprocess.run(restart, shell=True, check=True, timeout=60)  # noqa: S602 - our own command
        with _client(running) as c:
            r = c.post("/api/auth/login", json={"username": "conformance-2", "password": "x"})
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    finally:
        assert running.stop() == 0
    assert "MemoryError" not in running.output()


def test_profile_is_owner_only_and_the_start_says_where(emulator: Running) -> None:
    assert (emulator.profile_path.stat().st_mode & 0o077) == 0  # passwords and TOTP secrets
    assert f"listening on {emulator.profile['base_url']}" in emulator.output()
    assert f"--ca-cert {emulator.profile['ca_cert']}" in emulator.output()


def test_screenshots_plain_http_and_unsynced_clock(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    running = start_emulator(tmp_path, "--plain-http", "--unsynced", "--screenshot", str(shots))
    try:
        assert running.profile["base_url"].startswith("http://")
        assert "ca_cert" not in running.profile
        account = running.profile["accounts"][0]
        with httpx.Client(base_url=running.profile["base_url"], timeout=20) as c:
            assert c.get("/api/info").json()["time_synced"] is False
            r = c.post(
                "/api/auth/login",
                json={"username": account["username"], "password": account["password"]},
            )
            body = {"challenge_token": r.json()["challenge_token"], "totp_code": "123456"}
            r = c.post("/api/auth/verify", json=body)
            assert r.status_code == 503 and r.json()["error"] == "clock_not_synced"
    finally:
        assert running.stop() == 0
    # the start and stop sets are kept apart, and differ where a login happened in between
    for phase in ("start", "stop"):
        pngs = sorted(p.name for p in (shots / phase).glob("*.png"))
        assert pngs == ["boot.png", "cert.png", "log.png", "main.png", "wifi.png"]
        assert all((shots / phase / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in pngs)
    assert (shots / "start" / "log.png").read_bytes() != (shots / "stop" / "log.png").read_bytes()
    assert "is not the 160K board" in running.output()


def test_without_a_target_profile_the_ca_is_printed_and_trusted(tmp_path: Path) -> None:
    """`--screenshot` alone (as in the README): the client still gets a CA file to trust."""
    port = free_port()
    log = tmp_path / "emulator.log"
    cmd = [sys.executable, "-m", "pico_firmware.host.emulator", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "--ca-cert " not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        ca = log.read_text().split("--ca-cert ")[1].split(")")[0]
        verify = ssl.create_default_context(cafile=ca)
        with httpx.Client(verify=verify, timeout=20) as c:
            assert c.get(f"https://127.0.0.1:{port}/api/info").json()["api_version"] == "1"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert not Path(ca).exists()  # it went with the board's temp dir
