"""Shared helpers for the firmware's host-side tests: tools, ports, a running emulator."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.tests.harness import isolated_cache  # noqa: F401 - an autouse fixture

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[firmware]'")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, proc: subprocess.Popen, profile: Path, log: Path) -> None:
        self.proc = proc
        self.profile_path = profile
        self.log = log
        self.profile = tomllib.loads(profile.read_text())

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


def start_emulator(tmp: Path, *extra: str) -> Running:
    port = free_port()
    profile = tmp / "target.toml"
    log = tmp / "emulator.log"
    cmd = [sys.executable, "-m", "pico_firmware.host.emulator", "--port", str(port)]
    cmd += ["--write-target-profile", str(profile), *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not profile.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("emulator did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.1)
    return Running(proc, profile, log)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_emulator(tmp_path_factory.mktemp("emulator"))
    yield running
    running.stop()
