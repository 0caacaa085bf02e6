"""A target profile's target: its base URL, and its restart_command as the LOCK-6 restart hook.

(With no --target-profile the suite judges the reference server: conformance/harness/.)
"""

from __future__ import annotations

import subprocess
import time

import httpx

from conformance.api import tls_context
from conformance.profile import TargetProfile
from conformance.session import Target, TargetError

START_TIMEOUT_S = 30.0


class StartError(TargetError):
    """The target did not come up; the message carries what it said."""


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
