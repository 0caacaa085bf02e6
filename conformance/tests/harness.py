"""Run the suite in-process against a server on loopback with a movable clock.

`embedded(...)` is the reference server (EmbeddedServer: production profile, TLS, uvicorn in
a thread), or a mutant of it (mutants.py): another server class, other constructor keywords.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.clock import MovableClock
from conformance.profile import profile_from_dict
from conformance.results import RunResult
from conformance.runner import run_suite
from conformance.session import Target


@pytest.fixture(autouse=True, scope="session")
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's ledger of spent backup codes (ledger.py) goes to a temporary cache, never
    the developer's: for the suite run in-process and for every process a test starts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


IDLE_TIMEOUT_S = 1.0  # the server's, so that INPUT-4 is judged in seconds
IDLE_LIMIT_S = 4.0  # how long the suite waits for an idle client to be dropped


@contextlib.contextmanager
def embedded(server_class: Any = None, **keywords: Any) -> Iterator[Target]:
    from reference_server.core.passwords import Passwords
    from reference_server.embedded import EmbeddedServer

    keywords.setdefault("idle_timeout", IDLE_TIMEOUT_S)
    keywords.setdefault("passwords", Passwords.for_profile("test"))  # light argon2: fast
    keywords.setdefault("tls", True)
    server = (server_class or EmbeddedServer)(profile="production", **keywords)
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


def judge(target_cm: Any, only: list[str] | None = None) -> tuple[int, RunResult]:
    with target_cm as target:
        status, result = run_suite(target, only=only, quiet=True)
    assert result is not None, f"the suite produced no result (exit {status})"
    return status, result
