"""Run the suite in-process against a FakeServer (movable clock, TLS on loopback)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from conformance.clock import MovableClock
from conformance.profile import profile_from_dict
from conformance.results import RunResult
from conformance.runner import run_suite
from conformance.selfstart import make_self_signed
from conformance.session import Target
from conformance.tests.fakeserver import FakeServer, Rules

_CERT_DIR = Path(tempfile.mkdtemp(prefix="conformance-selftest-"))
_CERT = make_self_signed(_CERT_DIR)


@contextlib.contextmanager
def running(server: FakeServer) -> Iterator[Target]:
    cert, key = _CERT
    base_url = server.start(str(cert), str(key))
    try:
        profile = profile_from_dict(server.target_profile(base_url))
        clock = MovableClock(lambda: server.clock.now, server.clock.advance)
        yield Target(profile=profile, restart=server.restart, clock=clock)
    finally:
        server.stop()


def judge(rules: Rules | None = None, only: list[str] | None = None) -> tuple[int, RunResult]:
    with running(FakeServer(rules)) as target:
        status, result = run_suite(target, only=only, quiet=True)
    assert result is not None, f"the suite produced no result (exit {status})"
    return status, result
