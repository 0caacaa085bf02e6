"""The spec is the contract: valid OpenAPI 3.1 that carries every requirement with its text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from openapi_spec_validator import validate

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"
ID = re.compile(r"^[A-Z]+-[0-9]+$")
SECTIONS = {
    *("INFO", "LOGIN", "TOTP", "CHAL", "LOCK", "SESS", "INPUT", "TLS", "LOG", "STORE", "CLIENT"),
}
# Who is judged: servers by the black-box suite (no scope), each implementation by its own tests
# (STORE), clients by `python -m conformance client` (CLIENT).
SCOPES = {None, "implementation", "client"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _governing_ids(node: Any) -> set[str]:
    """Every ID named by an `x-requirements` list anywhere below the top level."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("x-requirements") and isinstance(value, list):
                found.update(v for v in value if isinstance(v, str))
            else:
                found |= _governing_ids(value)
    elif isinstance(node, list):
        for item in node:
            found |= _governing_ids(item)
    return found


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_requirement_index_is_well_formed(spec: dict[str, Any]) -> None:
    index = spec["x-requirements"]
    ids = [r["id"] for r in index]
    assert len(ids) == len(set(ids)), "a requirement is listed twice"
    for r in index:
        assert ID.match(r["id"]), r
        assert r["id"].split("-")[0] in SECTIONS, r
        assert r["level"] in {"MUST", "SHOULD", "MAY"}, r
        assert r["text"].strip(), r
        assert r.get("scope") in SCOPES, r
        assert (r.get("scope") == "client") == r["id"].startswith("CLIENT-"), r
    # The contract's sections are all present.
    assert {i.split("-")[0] for i in ids} == SECTIONS


def test_every_requirement_governs_somewhere_and_only_known_ids_are_named(
    spec: dict[str, Any],
) -> None:
    index = {r["id"] for r in spec["x-requirements"]}
    body = {k: v for k, v in spec.items() if k != "x-requirements"}
    governing = _governing_ids(body)
    assert governing - index == set(), "an x-requirements list names an unknown ID"
    assert index - governing == set(), "a requirement governs no operation, response or rule"


def test_every_governing_id_starts_a_sentence_in_a_description(spec: dict[str, Any]) -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    # Everything but the index itself: the IDs must appear where the rules are stated.
    head = text.split("\nx-requirements:", 1)[0]
    descriptions = head + text.split("x-requirements-cross-cutting", 1)[1]
    for rid in (r["id"] for r in spec["x-requirements"]):
        assert re.search(rf"(^|[\s(]){re.escape(rid)}[\s:(/]", descriptions), rid


def test_links_walk_the_whole_flow() -> None:
    """Schemathesis walks the links: login -> verify -> dashboard and logout."""
    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    rules = {name for name in dir(schema.as_state_machine()) if "___200_" in name}
    assert rules == {
        "POST_api_auth_login___200_verifyWithTotp__POST_api_auth_verify",
        "POST_api_auth_login___200_verifyWithBackupCode__POST_api_auth_verify",
        "POST_api_auth_verify___200_dashboard__GET_api_dashboard",
        "POST_api_auth_verify___200_logout__POST_api_auth_logout",
    }
