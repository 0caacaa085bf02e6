"""Requirement IDs and their texts, read from the spec's `x-requirements`; attached to cases by
decorator.

The spec travels with the suite: in an installed suite its files are package data
(`conformance/spec/`, mapped from the repository's spec/ in pyproject.toml); in a checkout they
are read from spec/ itself.
"""

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


@functools.cache
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
