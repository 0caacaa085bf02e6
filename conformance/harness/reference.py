"""The reference server as a subprocess: the target of a default run (no --target-profile).

`python -m reference_server serve` in the test profile, HTTPS with a throwaway self-signed EC
certificate on 127.0.0.1, fresh accounts; restarted on the same port and database for LOCK-6.
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

from conformance.api import tls_context
from conformance.harness.certs import make_self_signed
from conformance.profile import TargetProfile, load_profile
from conformance.selfstart import START_TIMEOUT_S, StartError, wait_for_info
from conformance.session import Target

TEST_ACCOUNTS = 8


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
