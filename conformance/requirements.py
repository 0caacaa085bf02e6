"""Requirement IDs and their texts, read from the spec's `x-requirements`; attached to cases by
decorator.

The spec travels with the suite: in an installed suite its files are package data
(`conformance/spec/`, mapped from the repository's spec/ in pyproject.toml); in a checkout they
are read from spec/ itself.
"""

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
PACKAGE = Path(__file__).resolve().parent


def spec_file(name: str) -> Path:
    """A file of the spec: the installed package data, else the checkout's spec/."""
    installed = PACKAGE / "spec" / name
    return installed if installed.is_file() else PACKAGE.parent / "spec" / name


SPEC_PATH = spec_file("openapi.yaml")
_ID = re.compile(r"^[A-Z]+-[0-9]+$")
CLIENT = "client"


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    section: str = ""
    text: str = ""
    # "black-box": judged by the server suite; "implementation": by each server's own tests;
    # "client": by the client suite (`python -m conformance client`), never asked of a server
    scope: str = "black-box"

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


def load_requirements() -> dict[str, Requirement]:
    """Every requirement of a server, with its level, section and text (the server suite's)."""
    return {i: r for i, r in _all_requirements().items() if r.scope != CLIENT}


def client_requirements() -> dict[str, Requirement]:
    """The requirements of a client of the protocol (the client suite's)."""
    return {i: r for i, r in _all_requirements().items() if r.scope == CLIENT}


def _all_requirements() -> dict[str, Requirement]:
    found = requirements_from_spec(SPEC_PATH)
    if not found:
        raise ValueError(f"{SPEC_PATH} has no x-requirements")
    return found


def sort_ids(ids: Any) -> list[str]:
    def key(req_id: str) -> tuple[str, int]:
        prefix, _, number = req_id.partition("-")
        return (prefix, int(number) if number.isdigit() else 0)

    return sorted(ids, key=key)
