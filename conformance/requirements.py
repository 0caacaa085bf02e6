"""Requirement IDs: read from spec/openapi.yaml (or CONTRACT.md), attached to cases by decorator."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

F = TypeVar("F", bound=Callable[..., Any])

LEVELS = ("MUST", "SHOULD")
MARKER = "requirement"
BESIDE = "runs_beside"  # a case that mostly waits on the target's clock
ALONE = "runs_alone"  # a case that nothing may run beside (it restarts or occupies the target)
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


def requirement(req_id: str, level: str, rationale: str) -> Callable[[F], F]:
    """Mark a case with the requirement it judges: `@requirement("TOTP-4", "MUST", "...")`."""
    if not _ID.match(req_id):
        raise ValueError(f"requirement ID {req_id!r} is not like 'TOTP-4'")
    if level not in LEVELS:
        raise ValueError(f"level {level!r} is not one of {LEVELS}")

    def mark(fn: F) -> F:
        return pytest.mark.requirement(req_id, level, rationale)(fn)

    return mark


def runs_beside(fn: F) -> F:
    """A case that mostly waits for a lock, a challenge or a session to end: against a live
    target it runs in its own thread beside the other cases, so that the waits overlap."""
    return getattr(pytest.mark, BESIDE)(fn)


def runs_alone(fn: F) -> F:
    """A case that nothing may run beside: it restarts the target, or holds its connections
    idle (a small server serves one client at a time, and would stall timed checks)."""
    return getattr(pytest.mark, ALONE)(fn)


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
