"""Start-up reconciliation learns what others did to an account before this run: the steps they
spent, the failures they left. The suite never sends a code of a step the target has taken."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pyotp

from conformance.api import tls_context
from conformance.clock import MovableClock
from conformance.oracle import PERIOD
from conformance.profile import profile_from_dict
from conformance.results import NOT_RUN, PASSED
from conformance.runner import run_suite
from conformance.session import Target
from conformance.tests.harness import IDLE_TIMEOUT_S
from conformance.tests.test_side_runs import live

LOCK_S = 5  # the test profile's: a lock that ends inside the step it began in


@contextlib.contextmanager
def reference_in_test_profile(start: float) -> Iterator[Target]:
    """The reference server in the test profile (5 s locks) on a clock the suite moves."""
    from reference_server.core.clock import FakeClock
    from reference_server.core.passwords import Passwords
    from reference_server.embedded import EmbeddedServer

    clock = FakeClock(start)
    server = EmbeddedServer(
        profile="test",
        accounts=4,
        tls=True,
        clock=clock,
        idle_timeout=IDLE_TIMEOUT_S,
        passwords=Passwords.for_profile("test"),
    )
    try:
        server.start()
        profile = profile_from_dict(server.target_profile())
        yield Target(profile=profile, clock=MovableClock(clock.now, clock.advance))
    finally:
        server.close()


def _leave_behind(target, step: int, failures: int) -> None:
    """Another user, before the run: each account signs in with the code of `step`, then
    leaves `failures` wrong passwords counted."""
    with httpx.Client(base_url=target.base_url, verify=tls_context(target.profile.verify)) as c:
        for spec in target.profile.accounts:
            login = c.post(
                "/api/auth/login", json={"username": spec.username, "password": spec.password}
            )
            code = pyotp.TOTP(spec.totp_secret).at(step * PERIOD)
            verify = c.post(
                "/api/auth/verify",
                json={"challenge_token": login.json()["challenge_token"], "totp_code": code},
            )
            assert verify.status_code == 200, verify.text
            for _ in range(failures):
                wrong = {"username": spec.username, "password": spec.password + "-x"}
                assert c.post("/api/auth/login", json=wrong).status_code == 401


def test_steps_spent_before_the_run_are_never_sent_again():
    """T+1 spent and four failures left: the reconciling sign-in's first refused code locks the
    account; the lock ends near the step's end, where a backup code signs in instead of a step.
    The model then knows only that T-1 was spent, not T+1: TOTP-4 must still get a fresh code."""
    step = 59_000_000
    with reference_in_test_profile(step * PERIOD + 21) as target:
        _leave_behind(target, step + 1, failures=4)
        status, result = run_suite(target, only=["TOTP-4"], quiet=True)
    assert result is not None
    verdict = result.verdicts()["TOTP-4"]
    assert verdict.verdict == PASSED, verdict.reason
    assert status == 0


def test_an_address_throttled_before_the_run_is_named_as_such():
    """An earlier run stopped inside LOCK-8 left this address throttled for longer than a run
    waits: the accounts are set aside saying so (not "locked"), and nothing fails."""
    from reference_server.core.address_throttle import AddressThrottle

    limit = AddressThrottle(max_failures=3, window_s=300)
    with live(throttle=limit) as target:
        with httpx.Client(base_url=target.base_url, verify=tls_context(target.profile.verify)) as c:
            for n in range(limit.max_failures):
                wrong = {"username": f"earlier-run-{n}", "password": "wrong"}
                assert c.post("/api/auth/login", json=wrong).status_code == 401
        status, result = run_suite(target, only=["TOTP-4"], quiet=True)
    assert result is not None
    verdict = result.verdicts()["TOTP-4"]
    assert verdict.verdict == NOT_RUN, verdict.reason  # a MUST not run: exit status 1
    assert status == 1
    assert "this address is throttled by the target (LOCK-8" in verdict.reason, verdict.reason
