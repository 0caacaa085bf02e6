"""Cases that wait run in threads beside the others against a live target (beside.py), and
their verdicts are the same as if they had run one after another; a run stopped (Ctrl-C) in a
case reports what it judged, and that case as not run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from conformance.needs import (
    ALONE,
    EXHAUSTS_THROTTLE,
    LAST,
    LOCKS_ACCOUNT,
    PICKS,
    PICKS_STEPS,
    REST,
    RUNS_ALONE,
    SPENDS_STEPS,
    WAITING,
    WAITS_FOR_EXPIRY,
    order,
)
from conformance.plugin import order_of
from conformance.profile import profile_from_dict
from conformance.results import FAILED, NOT_RUN, PASSED
from conformance.runner import run_suite
from conformance.session import Target
from conformance.tests.harness import IDLE_TIMEOUT_S
from conformance.tests.mutants import EternalSessions

WAITING_CASES = ["CHAL-3", "LOCK-3", "SESS-4"]


@contextlib.contextmanager
def live(**seams: Any) -> Iterator[Target]:
    """The reference server on the real clock, test profile (5 s lock, session, challenge)."""
    from reference_server.core.clock import SystemClock
    from reference_server.core.passwords import Passwords
    from reference_server.embedded import EmbeddedServer

    seams.setdefault("passwords", Passwords.for_profile("test"))
    server = EmbeddedServer(
        profile="test", tls=True, clock=SystemClock(), idle_timeout=IDLE_TIMEOUT_S, **seams
    )
    try:
        server.start()
        yield Target(profile=profile_from_dict(server.target_profile()))
    finally:
        server.close()


def test_waiting_cases_overlap_and_pass_on_a_live_target():
    with live() as target:
        status, result = run_suite(target, only=WAITING_CASES + ["INFO-1"], quiet=True)
    assert result is not None and status == 0
    verdicts = result.verdicts()
    assert all(verdicts[r].verdict == PASSED for r in WAITING_CASES), verdicts
    # Each waits about 6.5 s of real time; one after another they would take 19.5 s.
    waiting = [c for c in result.cases if c.req_id in WAITING_CASES]
    assert all(c.duration > 6 for c in waiting), [(c.req_id, c.duration) for c in waiting]
    assert result.duration < sum(c.duration for c in waiting) - 6
    assert all(c.timings.get("lockout/TTL wait", 0) > 6 for c in waiting)


def test_a_failure_in_a_side_run_is_reported_with_its_exchanges():
    with live(sessions=EternalSessions) as target:
        status, result = run_suite(target, only=["SESS-4", "INFO-1"], quiet=True)
    assert result is not None and status != 0
    verdict = result.verdicts()["SESS-4"]
    assert verdict.verdict == FAILED and "still valid" in verdict.reason
    assert verdict.cases[0].exchanges, "the failing case shows what the target said"


def test_order_alone_first_then_steps_then_the_rest_then_the_waiting_cases():
    import pytest

    from conformance.runner import pytest_args

    seen: list[tuple[str, tuple[int, int]]] = []

    class Collect:
        def pytest_collection_finish(self, session: pytest.Session) -> None:
            for item in session.items:
                marker = item.get_closest_marker("requirement")
                seen.append((marker.args[0] if marker else "", order_of(item)))

    pytest.main(pytest_args(quiet=True, extra=["--collect-only"]), plugins=[Collect()])
    groups = [group for _, (group, _) in seen]
    assert groups == sorted(groups)
    assert seen[0][0] == "LOCK-6"  # alone, and it locks accounts: their locks end meanwhile
    assert {r for r, (g, _) in seen if g == WAITING} == {"CHAL-3", "LOCK-3", "LOCK-7", "SESS-4"}
    alone = {r for r, (g, _) in seen if g == ALONE}
    # INPUT-5: the raw-socket garbage case; INPUT-6/7: the flood and the tricklers
    assert alone == {"LOCK-6", "INPUT-4", "INPUT-5", "INPUT-6", "INPUT-7"}
    # LOCK-8 exhausts the suite's address: last, after the waiting cases have ended
    assert [r for r, (g, _) in seen if g == LAST] == ["LOCK-8"]
    assert [r for r, (g, _) in seen if g == PICKS] == ["TOTP-1", "TOTP-2", "TOTP-3"]
    rest = [r for r, (g, _) in seen if g == REST]
    assert set(rest[-3:]) == {"LOCK-4", "LOCK-5", "LOGIN-3"}  # they leave accounts locked


def test_the_order_follows_from_the_needs_alone():
    assert order([RUNS_ALONE, LOCKS_ACCOUNT]) < order([RUNS_ALONE]) < order([SPENDS_STEPS])
    assert order([SPENDS_STEPS]) < order([SPENDS_STEPS, LOCKS_ACCOUNT]) < order([])
    assert order([]) < order([LOCKS_ACCOUNT]) < order([PICKS_STEPS])
    assert order([PICKS_STEPS]) < order([WAITS_FOR_EXPIRY]) < order([EXHAUSTS_THROTTLE])
    assert order([EXHAUSTS_THROTTLE, SPENDS_STEPS])[0] == LAST


class StopAt:
    """Ctrl-C in the middle of one case, as a user stops a long run."""

    def __init__(self, req_id: str) -> None:
        self.req_id = req_id

    def pytest_runtest_call(self, item: Any) -> None:
        if item.get_closest_marker("requirement").args[0] == self.req_id:
            raise KeyboardInterrupt


def test_a_case_the_run_stopped_in_is_not_run_and_the_ones_before_keep_their_verdict():
    with live() as target:
        _, result = run_suite(
            target, only=["INFO-1", "INFO-3"], quiet=True, plugins=[StopAt("INFO-3")]
        )
    assert result is not None
    verdicts = result.verdicts()
    assert verdicts["INFO-1"].verdict == PASSED
    assert verdicts["INFO-3"].verdict == NOT_RUN, verdicts["INFO-3"]
    assert "stopped" in verdicts["INFO-3"].reason
