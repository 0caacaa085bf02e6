"""The client's answer shapes say what spec/openapi.yaml says (required keys, closed objects,
constants), so that the spec and the client cannot drift apart unnoticed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from client import wire

SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
SHAPES = {
    "ChallengeIssued": wire.CHALLENGE_ISSUED,
    "SessionIssued": wire.SESSION_ISSUED,
    "Error": wire.ERROR,
    "LockedError": wire.LOCKED,
    "Dashboard": wire.DASHBOARD,
    "Info": wire.INFO,
}


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())["components"]["schemas"]


def compare(shape: wire.Shape, schema: dict[str, Any], where: str) -> None:
    assert set(shape.required) == set(schema.get("required", [])), where
    assert set(shape.required) | set(shape.optional) == set(schema["properties"]), where
    assert shape.closed == (schema.get("additionalProperties") is False), where
    for key, check in {**shape.required, **shape.optional}.items():
        prop = schema["properties"][key]
        if isinstance(check, wire.Shape):
            compare(check, prop, f"{where}.{key}")
        elif isinstance(check, wire.Const):
            assert prop.get("const") == check.expected, f"{where}.{key}"
        elif isinstance(check, wire.OneOf):
            assert set(prop["enum"]) == set(check.choices), f"{where}.{key}"
        elif isinstance(check, wire.Int):
            assert prop["type"] == "integer", f"{where}.{key}"
            assert prop.get("minimum") == check.minimum, f"{where}.{key}"


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_matches_the_spec(schemas: dict[str, Any], name: str) -> None:
    compare(SHAPES[name], schemas[name], name)


def test_token_bounds_match_the_spec(schemas: dict[str, Any]) -> None:
    token = schemas["Token"]
    issued = schemas["SessionIssued"]["properties"]["session_token"]["allOf"][1]
    for checked in (wire.TOKEN, wire.BEARER_TOKEN):
        assert checked.max_length == token["maxLength"]
        assert checked.min_length == issued["minLength"]


def test_error_codes_the_client_maps_are_in_the_spec(schemas: dict[str, Any]) -> None:
    from client import auth

    known = set(schemas["Error"]["properties"]["error"]["enum"])
    for table in (auth._LOGIN_REFUSALS, auth._VERIFY_REFUSALS, auth._SESSION_REFUSALS):
        assert {code for _, code in table} <= known
