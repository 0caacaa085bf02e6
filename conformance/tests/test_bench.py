"""The benchmark's sums name real cases (a renamed case would silently leave them), its floors
come from /api/info, its hasher counts what the server asks of it, and a lock costs the target
one password hash."""

from __future__ import annotations

import importlib
import pkgutil

import conformance.cases
from conformance.bench import REV2_ATTACK_CASES, floors
from conformance.harness.embedded import CountedPasswords
from conformance.results import PASSED
from conformance.runner import run_suite
from conformance.tests.harness import embedded


def test_the_rev2_attack_cases_are_cases():
    names = {
        name
        for module in pkgutil.iter_modules(conformance.cases.__path__)
        for name in dir(importlib.import_module(f"conformance.cases.{module.name}"))
        if name.startswith("test_")
    }
    assert names >= REV2_ATTACK_CASES, sorted(REV2_ATTACK_CASES - names)


def test_each_rev2_attack_case_has_a_floor_from_the_info():
    info = {
        "lockout": {"max_failures": 5, "duration_s": 300, "escalation": "double"},
        "throttle": {"max_failures": 50, "window_s": 300},
    }
    found = floors(info)
    assert set(found) == REV2_ATTACK_CASES
    churn = found["test_LOGIN_3_locked_unknown_name_survives_churn"]
    assert churn.hashes == 5 * (1 + 32) + 5  # X, 32 names, X's second lock
    assert found["test_LOCK_8_per_address_throttle"].hashes == 52
    assert found["test_INPUT_6_login_flood_does_not_starve_others"].seconds(0.1) == 10.0
    # No escalation: no second lock to ask for.
    info["lockout"] = {"max_failures": 5, "duration_s": 300}
    assert floors(info)["test_LOGIN_3_locked_unknown_name_survives_churn"].hashes == 165


def test_the_counted_hasher_counts_what_the_server_asks_of_it():
    passwords = CountedPasswords(light=True)
    stored = passwords.hash("secret")
    assert passwords.verify(stored, "secret") and not passwords.verify(None, "secret")
    assert passwords.count == 3
    assert passwords.seconds_per_verify(2, rounds=1) > 0
    assert passwords.count == 3 + 2 + 2  # a warm-up batch, then one round of two


def test_a_lock_from_a_count_of_zero_costs_one_password_hash():
    """LOCK-7 locks one account twice. Its failures are wrong codes on a challenge (they count
    as wrong passwords do), so the run costs the target the sign-in that brings the account to
    a known state and one hash per lock (the right password), not five."""
    passwords = CountedPasswords(light=True)
    with embedded(passwords=passwords) as target:
        before = passwords.count
        status, result = run_suite(target, only=["LOCK-7"], quiet=True)
        hashes = passwords.count - before
    assert result is not None
    verdict = result.verdicts()["LOCK-7"]
    assert verdict.verdict == PASSED, verdict.reason
    assert hashes == 3, f"{hashes} password hashes for a sign-in and two locks"
