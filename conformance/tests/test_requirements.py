"""Requirement IDs come from the spec; every one of them has at least one case."""

from __future__ import annotations

import pytest

from conformance.plugin import requirement_of
from conformance.requirements import (
    SPEC_PATH,
    load_requirements,
    requirement,
    requirements_from_spec,
)


def test_spec_index_is_read():
    found = requirements_from_spec(SPEC_PATH)
    assert len(found) >= 40
    assert found["LOCK-7"].level == "SHOULD"
    assert found["TOTP-4"].level == "MUST"


def test_decorator_rejects_bad_ids_unknown_ids_and_unknown_needs():
    with pytest.raises(ValueError):
        requirement("totp4", "x")
    with pytest.raises(ValueError, match="not in the spec"):
        requirement("TOTP-99", "x")
    with pytest.raises(ValueError, match="unknown needs"):
        requirement("TOTP-4", "x", needs=("sings",))


def test_the_level_comes_from_the_spec():
    def case():
        pass

    for req_id, level in (("LOCK-7", "SHOULD"), ("TOTP-4", "MUST")):
        marked = requirement(req_id, "why", needs=("spends TOTP steps",))(case)
        mark = marked.pytestmark[-1]
        assert mark.args == (req_id, level, "why")
        assert mark.kwargs == {"needs": ("spends TOTP steps",)}


def test_every_requirement_has_a_case_with_the_right_level(pytestconfig):
    import pathlib

    items = _collect_cases(pytestconfig)
    marked = {}
    for name, req in items:
        assert req is not None, f"case {name} carries no @requirement"
        marked.setdefault(req[0], []).append((name, req[1]))
    requirements = load_requirements()
    black_box = {i for i, r in requirements.items() if r.black_box}
    missing = sorted(black_box - set(marked))
    assert not missing, f"requirements without a case: {missing}"
    for req_id, cases in marked.items():
        for name, level in cases:
            assert level == requirements[req_id].level, f"{name}: level {level} for {req_id}"
            assert name.startswith(f"test_{req_id.replace('-', '_')}_"), name
    assert pathlib.Path(SPEC_PATH).exists()


def _collect_cases(pytestconfig):
    import importlib
    import inspect
    import pkgutil

    import conformance.cases as cases

    found = []
    for module_info in pkgutil.iter_modules(cases.__path__):
        module = importlib.import_module(f"conformance.cases.{module_info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_"):
                found.append((name, _marker_of(fn)))
    return found


def _marker_of(fn):
    for mark in getattr(fn, "pytestmark", []):
        if mark.name == "requirement":
            return tuple(str(a) for a in mark.args)
    return None


def test_requirement_of_reads_the_marker():
    class Item:
        def get_closest_marker(self, name):
            return pytest.mark.requirement("LOCK-1", "MUST", "why").mark

    assert requirement_of(Item()) == ("LOCK-1", "MUST", "why")
