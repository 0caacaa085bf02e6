"""Run the suite in-process against a server on loopback with a movable clock.

`embedded(...)` is the reference server (EmbeddedServer: production profile, TLS, uvicorn in
a thread); `fake(...)` is the suite's own FakeServer, for rules the reference server lacks a seam
for.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.clock import MovableClock
from conformance.profile import profile_from_dict
from conformance.results import RunResult
from conformance.runner import run_suite
from conformance.selfstart import make_self_signed
from conformance.session import Target
from conformance.tests.fakeserver import FakeServer, Rules

_CERT_DIR = Path(tempfile.mkdtemp(prefix="conformance-selftest-"))
_CERT = make_self_signed(_CERT_DIR)
IDLE_TIMEOUT_S = 1.0  # the server's, so that INPUT-4 is judged in seconds
IDLE_LIMIT_S = 4.0  # how long the suite waits for an idle client to be dropped


@contextlib.contextmanager
def embedded(**seams: Any) -> Iterator[Target]:
    from reference_server.core.passwords import Passwords
    from reference_server.embedded import EmbeddedServer

    seams.setdefault("idle_timeout", IDLE_TIMEOUT_S)
    seams.setdefault("passwords", Passwords.for_profile("test"))  # light argon2: a fast self-test
    server = EmbeddedServer(profile="production", tls=True, **seams)
    try:
        server.start()
        profile = profile_from_dict(server.target_profile())
        clock = MovableClock(server.clock.now, server.clock.advance)

        def restart() -> str | None:
            server.restart()
            return None

        yield Target(profile=profile, restart=restart, clock=clock, idle_limit_s=IDLE_LIMIT_S)
    finally:
        server.close()


@contextlib.contextmanager
def fake(rules: Rules | None = None) -> Iterator[Target]:
    server = FakeServer(rules)
    cert, key = _CERT
    base_url = server.start(str(cert), str(key))
    try:
        profile = profile_from_dict(server.target_profile(base_url))
        clock = MovableClock(lambda: server.clock.now, server.clock.advance)
        yield Target(profile=profile, restart=server.restart, clock=clock)
    finally:
        server.stop()


def judge(target_cm: Any, only: list[str] | None = None) -> tuple[int, RunResult]:
    with target_cm as target:
        status, result = run_suite(target, only=only, quiet=True)
    assert result is not None, f"the suite produced no result (exit {status})"
    return status, result
