"""The benchmark's sums name real cases: a renamed case would silently leave them."""

from __future__ import annotations

import importlib
import pkgutil

import conformance.cases
from conformance.bench import REV2_ATTACK_CASES


def test_the_rev2_attack_cases_are_cases():
    names = {
        name
        for module in pkgutil.iter_modules(conformance.cases.__path__)
        for name in dir(importlib.import_module(f"conformance.cases.{module.name}"))
        if name.startswith("test_")
    }
    assert names >= REV2_ATTACK_CASES, sorted(REV2_ATTACK_CASES - names)
