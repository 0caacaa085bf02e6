"""The README's commands, run in a fresh clone as a new user runs them, leave `git status` clean:
every file they write (profiles with passwords and TOTP secrets, CA files, databases, audit logs,
screenshots, a board's configuration, reports) is ignored. Small bounded runs, not whole suites."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python_m(clone: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=clone, input=stdin, capture_output=True, text=True,
        timeout=120, env=ENV,
    )  # fmt: skip
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


# the installed project, not the clone's copy of it (PYTHONSAFEPATH: cwd is not on sys.path)
ENV = {**os.environ, "PYTHONSAFEPATH": "1", "WIFI_PASSWORD": "not-a-real-one"}


@contextmanager
def running(clone: Path, written: str, *args: str) -> Iterator[None]:
    """A server of the README in the background until `written` appears; stopped as Ctrl-C does."""
    log = (clone.parent / "server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", *args], cwd=clone, stdout=log, stderr=log, env=ENV
    )
    try:
        deadline = time.monotonic() + 60
        while not (clone / written).exists():
            assert proc.poll() is None and time.monotonic() < deadline, (
                clone.parent / "server.log"
            ).read_text()
            time.sleep(0.1)
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_readme_commands_leave_the_clone_clean(tmp_path: Path) -> None:
    clone = tmp_path / "pico-tfa"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    shutil.copy(REPO / ".gitignore", clone / ".gitignore")  # this tree's, committed or not
    subprocess.run(["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "--quiet", "-am", "this tree's ignores", "--allow-empty"],
                   check=True)  # fmt: skip

    # The reference server: HTTPS, test accounts, the target profile; the suite against it.
    port = str(free_port())
    with running(clone, "target.toml", "reference_server", "serve", "--port", port,
                 "--self-signed", "--profile", "test", "--test-accounts", "4",
                 "--db", "test.db", "--write-target-profile", "target.toml"):  # fmt: skip
        python_m(clone, "conformance", "server", "--target-profile", "target.toml",
                 "--only", "INFO-1", "--report-dir", "reports/ref")  # fmt: skip
    python_m(clone, "reference_server", "add-user", "alice", "--password-stdin",
             stdin="correct horse battery\n")  # fmt: skip

    # The emulator, with its screenshots.
    port = str(free_port())
    with running(clone, "emu.toml", "pico_firmware.host.emulator", "--port", port,
                 "--test-accounts", "4", "--write-target-profile", "emu.toml",
                 "--screenshot", "screens/"):  # fmt: skip
        pass
    assert list((clone / "screens" / "stop").glob("*.png"))

    # A board: its configuration, and what flashing it would do.
    python_m(clone, "pico_firmware.host.provision", "--out", "board/", "--wifi-ssid", "MyNet",
             "--wifi-password-env", "WIFI_PASSWORD", "--hostname", "pico-tfa.local",
             "--ip", "192.168.1.50", "--user", "alice", "--conformance-accounts", "4")  # fmt: skip
    python_m(clone, "pico_firmware.host.flash", "--config", "board/", "--dry-run")
    python_m(clone, "client", "demo-totp", "--secret", "JBSWY3DPEHPK3PXP", "--once")

    for name in ("target.toml", "emu.toml", "emu.ca.pem", "screens", "board", "reports",
                 "test.db", "test.audit.jsonl", "reference_server.db"):  # fmt: skip
        assert (clone / name).exists(), f"{name} was not written"
    status = subprocess.run(["git", "-C", str(clone), "status", "--porcelain", "--ignored=no"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert status == "", f"git status after the README's commands:\n{status}"
