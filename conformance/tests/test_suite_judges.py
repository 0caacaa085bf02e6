"""The suite passes the correct reference server and fails each mutant on the rule it breaks."""

from __future__ import annotations

import pytest

from conformance.results import FAILED, PASSED, WARNING
from conformance.tests.harness import embedded, judge
from conformance.tests.mutants import MUTANTS

# LOGIN-4 compares response-time medians: on a loaded CI machine it may warn (a SHOULD).
TIMING_SENSITIVE = {"LOGIN-4"}


def _not_passed(result):
    # Requirements with no case yet (rev. 2: INPUT-6/7/8, LOCK-8 are written on another branch)
    # are left out here; once every requirement has its case, drop the `v.cases` condition.
    return {
        k: (v.verdict, v.reason[:300])
        for k, v in result.verdicts().items()
        if v.verdict != PASSED and v.cases and not (k in TIMING_SENSITIVE and v.verdict == WARNING)
    }


def test_the_reference_server_conforms():
    status, result = judge(embedded())
    assert not _not_passed(result), _not_passed(result)
    assert result.profile == "production"


def test_an_unsynced_clock_answers_503_and_passes_totp_7():
    status, result = judge(embedded(time_synced=lambda: False), only=["TOTP-7"])
    assert result.verdicts()["TOTP-7"].verdict == PASSED, _not_passed(result)
    assert status == 0


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_a_mutant_fails_on_its_requirement(mutant):
    status, result = judge(embedded(**mutant.embedded_seams()), only=mutant.selection)
    verdict = result.verdicts()[mutant.fails]
    expected = WARNING if verdict.requirement.level == "SHOULD" else FAILED
    assert verdict.verdict == expected, (
        f"{mutant.name}: {mutant.fails} was {verdict.verdict}, not {expected}: {verdict.reason}"
    )
    if expected == FAILED:
        assert status != 0 and result.exit_status != 0
    else:
        assert result.exit_status == 0, "a failing SHOULD is a warning, not a failure"


def test_timed_cases_against_a_live_production_target_need_long():
    from conformance.profile import profile_from_dict
    from conformance.runner import run_suite
    from conformance.session import Target
    from reference_server.core.clock import SystemClock
    from reference_server.embedded import EmbeddedServer

    with EmbeddedServer(profile="production", tls=True, clock=SystemClock()) as server:
        server.start()
        target = Target(profile=profile_from_dict(server.target_profile()))
        status, result = run_suite(target, only=["CHAL-3", "LOCK-6"], quiet=True)
    verdicts = result.verdicts()
    assert verdicts["CHAL-3"].verdict == "not-run"
    assert "--long" in verdicts["CHAL-3"].reason
    assert verdicts["LOCK-6"].verdict == "not-run"
    assert "restart_command" in verdicts["LOCK-6"].reason
    assert status != 0 and result.exit_status != 0
