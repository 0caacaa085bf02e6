"""The attack cases pass a small correct server and fail each of its one-rule mutants."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.results import FAILED, PASSED, WARNING
from conformance.runner import run_suite
from conformance.session import Target
from conformance.tests.attack_mutants import CASES, MUTANTS, SETTINGS, SLOW_CORRECT
from conformance.tests.attack_server import AttackServer


@contextlib.contextmanager
def serving(server_class: type[AttackServer], **settings: Any) -> Iterator[Target]:
    server = server_class(**settings)
    server.start()
    try:
        yield server.target()
    finally:
        server.stop()


def verdict_of(server_class: type[AttackServer], req_id: str, **settings: Any):
    settings = {**SETTINGS.get(req_id, {}), **settings}
    with serving(server_class, **settings) as target:
        status, result = run_suite(target, only=[req_id], extra=["-k", CASES[req_id]])
    assert result is not None, f"the suite produced no result (exit {status})"
    return status, result.verdicts()[req_id]


@pytest.mark.parametrize("req_id", sorted(CASES))
def test_the_correct_server_passes(req_id):
    status, verdict = verdict_of(AttackServer, req_id)
    assert verdict.verdict == PASSED, f"{req_id}: {verdict.verdict}: {verdict.reason}"
    assert [c.name for c in verdict.cases] == [CASES[req_id]]
    assert status == 0


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_a_mutant_fails_its_case(mutant):
    status, verdict = verdict_of(mutant.server, mutant.fails, **mutant.settings)
    expected = WARNING if verdict.requirement.level == "SHOULD" else FAILED
    assert verdict.verdict == expected, (
        f"{mutant.name}: {mutant.fails} was {verdict.verdict}, not {expected}: {verdict.reason}"
    )
    assert (status != 0) == (expected == FAILED)


@pytest.mark.parametrize("slow", SLOW_CORRECT, ids=[s.name for s in SLOW_CORRECT])
def test_a_slow_correct_server_is_not_failed(slow):
    """A check answered after the lock or window it needs could have ended is no evidence."""
    status, verdict = verdict_of(slow.server, slow.case, **slow.settings)
    assert verdict.verdict == slow.verdict, (
        f"{slow.name}: {slow.case} was {verdict.verdict}, not {slow.verdict}: {verdict.reason}"
    )
    assert status == 0 or slow.verdict != PASSED
