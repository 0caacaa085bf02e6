"""Running the client under test: its command with the scenario's values, under a timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass

PLACEHOLDERS = ("base_url", "username", "password", "totp_secret", "ca_cert")


@dataclass(frozen=True)
class Values:
    base_url: str
    username: str
    password: str
    totp_secret: str
    ca_cert: str

    def env(self) -> dict[str, str]:
        return {f"TFA_{name.upper()}": getattr(self, name) for name in PLACEHOLDERS}


@dataclass(frozen=True)
class Outcome:
    exit_status: int | None  # None: killed at the timeout
    timed_out: bool
    stdout: str
    stderr: str
    started: float  # time.monotonic()
    duration: float


def fill(template: str, values: Values) -> str:
    """Replace `{base_url}` ... `{ca_cert}` as they are (other braces, e.g. JSON, stay).

    The harness makes values of URL-safe characters and paths without spaces, so no quoting is
    needed; the same values are in the environment as TFA_BASE_URL ... TFA_CA_CERT.
    """
    for name in PLACEHOLDERS:
        template = template.replace("{" + name + "}", getattr(values, name))
    return template


def run(template: str, values: Values, timeout: float) -> Outcome:
    command = fill(template, values)
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S602 - the operator's own command line, by design
        command,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **values.env()},
        start_new_session=True,  # its own process group, so that a timeout stops all of it
        text=True,
        errors="replace",
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        timed_out = True
    return Outcome(
        exit_status=None if timed_out else process.returncode,
        timed_out=timed_out,
        stdout=stdout,
        stderr=stderr,
        started=started,
        duration=time.monotonic() - started,
    )
