"""The command line against the board's own firmware on the MicroPython Unix port."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _micropython() -> str | None:
    return shutil.which("micropython", path=str(Path(sys.executable).parent)) or shutil.which(
        "micropython"
    )


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if _micropython() is None:
        pytest.skip("the MicroPython Unix port is not installed")
    pytest.importorskip("pico_firmware.host.emulator")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    profile = tmp_path_factory.mktemp("board") / "board.toml"
    process = subprocess.Popen(
        [sys.executable, "-m", "pico_firmware.host.emulator", "--port", str(port),
         "--test-accounts", "4", "--write-target-profile", str(profile)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (profile.exists() and profile.stat().st_size):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the emulator did not start: {process.stderr.read()[-2000:]}")
            time.sleep(0.2)
        time.sleep(0.2)  # the profile is written in one go, but let it be closed
        yield tomllib.loads(profile.read_text())
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def login(
    board: dict[str, Any], index: int, *trust: str, secret: str | None = None
) -> subprocess.CompletedProcess[str]:
    account = board["accounts"][index]
    return subprocess.run(
        [sys.executable, "-m", "client", "login", "--server", board["base_url"],
         "--username", account["username"], "--password-env", "BOARD_PASSWORD",
         "--totp-secret", secret or account["totp_secret"], *trust],
        env={**os.environ, "BOARD_PASSWORD": account["password"]},
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip


def test_login_with_the_boards_certificate_as_ca(board: dict[str, Any]) -> None:
    result = login(board, 0, "--ca-cert", board["ca_cert"])
    assert result.returncode == 0, result.stderr
    assert "Access granted" in result.stdout and "pico_firmware" in result.stdout


def test_login_with_the_boards_pinned_fingerprint(board: dict[str, Any]) -> None:
    der = ssl.PEM_cert_to_DER_cert(Path(board["ca_cert"]).read_text())
    pin = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    result = login(board, 1, "--pin-sha256", pin)
    assert result.returncode == 0, result.stderr
    assert "Access granted" in result.stdout


def test_the_board_is_not_trusted_by_default(board: dict[str, Any]) -> None:
    assert login(board, 2).returncode == 4


def test_wrong_codes_then_lockout_on_the_board(board: dict[str, Any]) -> None:
    import pyotp

    trust = ("--ca-cert", board["ca_cert"])
    for _ in range(5):
        assert login(board, 3, *trust, secret=pyotp.random_base32()).returncode == 2
    locked = login(board, 3, *trust)
    assert locked.returncode == 3, locked.stderr
    assert "seconds" in locked.stderr
