"""Requirement IDs: read from spec/openapi.yaml (or CONTRACT.md), attached to cases by decorator."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from conformance.needs import check

F = TypeVar("F", bound=Callable[..., Any])

LEVELS = ("MUST", "SHOULD")
MARKER = "requirement"
REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO_ROOT / "spec" / "openapi.yaml"
CONTRACT_PATHS = (REPO_ROOT / "CONTRACT.md", REPO_ROOT.parent / "shared" / "CONTRACT.md")
_ID = re.compile(r"^[A-Z]+-[0-9]+$")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    section: str = ""
    text: str = ""
    scope: str = "black-box"  # "implementation": checked by each server's own tests, not the suite

    @property
    def black_box(self) -> bool:
        return self.scope != "implementation"

    @property
    def sort_key(self) -> tuple[str, int]:
        prefix, _, number = self.id.partition("-")
        return (prefix, int(number))


def requirement(req_id: str, rationale: str, needs: Iterable[str] = ()) -> Callable[[F], F]:
    """Mark a case with the requirement it judges and what it needs from the run (needs.py):
    `@requirement("TOTP-4", "a code is accepted once", needs=(SPENDS_STEPS,))`. The level
    (MUST/SHOULD) is the spec's."""
    if not _ID.match(req_id):
        raise ValueError(f"requirement ID {req_id!r} is not like 'TOTP-4'")
    known = load_requirements()
    if req_id not in known:
        raise ValueError(f"requirement ID {req_id!r} is not in the spec")
    level = known[req_id].level
    wanted = check(needs)

    def mark(fn: F) -> F:
        return pytest.mark.requirement(req_id, level, rationale, needs=wanted)(fn)

    return mark


def needs_of(marker: Any) -> tuple[str, ...]:
    return tuple(marker.kwargs.get("needs", ())) if marker is not None else ()


def requirements_from_spec(path: Path = SPEC_PATH) -> dict[str, Requirement]:
    """The top-level `x-requirements` index of the OpenAPI document."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    index = doc.get("x-requirements") or doc.get("x-requirement-index") or []
    found: dict[str, Requirement] = {}
    for entry in index:
        req = Requirement(
            id=str(entry["id"]),
            level=str(entry.get("level", "MUST")),
            section=str(entry.get("section", "")),
            text=" ".join(str(entry.get("text", "")).split()),
            scope=str(entry.get("scope", "black-box")),
        )
        found[req.id] = req
    return found


_CONTRACT_LINE = re.compile(r"^- ([A-Z]+-[0-9]+) (MUST|SHOULD)\b[^:]*: (.*)$")


def requirements_from_contract(text: str) -> dict[str, Requirement]:
    """The CONTRACT.md form: `- TOTP-4 MUST (no replay): text`."""
    found: dict[str, Requirement] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("### "):
            section = line[4:].strip()
        match = _CONTRACT_LINE.match(line)
        if match:
            req_id, level, body = match.groups()
            found[req_id] = Requirement(req_id, level, section, body.strip())
    return found


@functools.cache
def load_requirements() -> dict[str, Requirement]:
    """Every requirement ID the suite must cover; the spec wins, CONTRACT.md is the fallback."""
    if SPEC_PATH.exists():
        found = requirements_from_spec(SPEC_PATH)
        if found:
            return found
    for path in CONTRACT_PATHS:
        if path.exists():
            return requirements_from_contract(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(
        f"no requirement index: neither {SPEC_PATH} nor any of {[str(p) for p in CONTRACT_PATHS]}"
    )


def sort_ids(ids: Any) -> list[str]:
    def key(req_id: str) -> tuple[str, int]:
        prefix, _, number = req_id.partition("-")
        return (prefix, int(number) if number.isdigit() else 0)

    return sorted(ids, key=key)
