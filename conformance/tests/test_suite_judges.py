"""The suite passes a correct server and fails each mutant on the requirement it breaks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.requirements import load_requirements
from conformance.results import FAILED, PASSED, WARNING
from conformance.tests.fakeserver import Rules
from conformance.tests.harness import judge
from conformance.tests.mutants import MUTANTS

# The fake runs on uvicorn, which keeps idle connections open: INPUT-4 is judged elsewhere.
NOT_JUDGED_ON_FAKE = {"INPUT-4"}


def test_the_correct_server_conforms():
    only = sorted(set(load_requirements()) - NOT_JUDGED_ON_FAKE)
    status, result = judge(only=only)
    bad = {
        k: (v.verdict, v.reason[:200]) for k, v in result.verdicts().items() if v.verdict != PASSED
    }
    assert not bad, bad
    assert status == 0
    assert result.exit_status == 0


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_a_mutant_fails_on_its_requirement(mutant):
    status, result = judge(replace(Rules(), **mutant.rules), only=mutant.selection)
    verdict = result.verdicts()[mutant.fails]
    expected = WARNING if verdict.requirement.level == "SHOULD" else FAILED
    assert verdict.verdict == expected, (
        f"{mutant.name}: {mutant.fails} was {verdict.verdict}, not {expected}: {verdict.reason}"
    )
    if expected == FAILED:
        assert status != 0 and result.exit_status != 0
    else:
        assert result.exit_status == 0, "a failing SHOULD is a warning, not a failure"
