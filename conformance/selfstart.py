"""Targets the suite makes for itself: the reference server as a subprocess, or a profile's target.

With no --target-profile the suite judges the reference server (test profile, HTTPS with a
throwaway self-signed EC certificate on 127.0.0.1), restarting the process for LOCK-6.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from conformance.api import tls_context
from conformance.profile import TargetProfile, load_profile
from conformance.session import Target, TargetError
from reference_server.tls import make_self_signed  # the harness's certificate comes from here too

START_TIMEOUT_S = 30.0
TEST_ACCOUNTS = 8


class StartError(TargetError):
    """The reference server did not come up; the message carries its output."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_info(base_url: str, verify: object, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/api/info", verify=verify, timeout=2.0)  # type: ignore[arg-type]
            if response.status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise StartError(f"{base_url}/api/info did not answer within {timeout:.0f} s ({last!r})")


class ReferenceServer:
    """`python -m reference_server serve ...` in a subprocess, restartable on the same port."""

    def __init__(self, profile: str = "test", accounts: int = TEST_ACCOUNTS) -> None:
        self.profile = profile
        self.accounts = accounts
        self.workdir = Path(tempfile.mkdtemp(prefix="conformance-"))
        self.port = free_port()
        self.cert, self.key = make_self_signed(str(self.workdir), common_name="conformance")
        self.db = self.workdir / "server.db"
        self.profile_path = self.workdir / "target.toml"
        self.log_path = self.workdir / "server.log"
        self.audit_path = self.workdir / "audit.jsonl"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, first: bool = True) -> list[str]:
        """The serve command; a restart keeps the accounts (new ones would have new secrets)."""
        command = [
            sys.executable, "-m", "reference_server", "serve",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--profile", self.profile,
            "--tls-cert", str(self.cert), "--tls-key", str(self.key),
            "--db", str(self.db),
            "--audit-log", str(self.audit_path),
        ]  # fmt: skip
        if first:
            command += ["--test-accounts", str(self.accounts)]
            command += ["--write-target-profile", str(self.profile_path)]
        return command

    def _spawn(self, first: bool = True) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(first), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()

    def _wait_profile(self) -> TargetProfile:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise StartError(
                    f"reference server exited with {self.process.returncode}:\n{self._log_tail()}"
                )
            if self.profile_path.exists():
                with contextlib.suppress(Exception):  # the file may be half-written
                    return load_profile(self.profile_path)
            time.sleep(0.05)
        raise StartError(f"no target profile after {START_TIMEOUT_S:.0f} s:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no output)"

    def start(self) -> Target:
        self._spawn()
        profile = self._wait_profile()
        verify = tls_context(profile.verify)
        wait_for_info(profile.base_url, verify)
        return Target(profile=profile, restart=self.restart)

    def restart(self) -> str | None:
        """Stop and start the process on the same port and database (LOCK-6)."""
        self._terminate()
        self._spawn(first=False)
        profile = load_profile(self.profile_path)
        wait_for_info(profile.base_url, tls_context(profile.verify))
        return profile.base_url

    def _terminate(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.workdir, ignore_errors=True)


def target_from_profile(profile: TargetProfile) -> Target:
    """A profile's target; its restart_command (if any) is the LOCK-6 restart hook."""
    if not profile.restart_command:
        return Target(profile=profile)
    command = profile.restart_command

    def restart() -> str | None:
        subprocess.run(command, shell=True, check=True, timeout=300)  # noqa: S602 - operator's command
        wait_for_info(profile.base_url, tls_context(profile.verify), timeout=120)
        return None

    return Target(profile=profile, restart=restart)
