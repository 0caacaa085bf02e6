"""The conftest's spec check is not vacuous: an answer the spec does not describe fails it."""

from __future__ import annotations

import httpx
import pytest

from .conftest import SPEC_HOST, check_against_spec


def answer(status: int, body: bytes, path: str = "/api/auth/login", **headers: str):
    request = httpx.Request("POST", SPEC_HOST + path, json={"username": "a", "password": "b"})
    base = {"date": "Sun, 29 Nov 2026 03:00:00 GMT", "cache-control": "no-store"}
    base["content-type"] = "application/json"
    return httpx.Response(status, content=body, headers={**base, **headers}, request=request)


def test_described_answer_passes(openapi):
    check_against_spec(
        openapi, answer(401, b'{"status":"error","error":"invalid_credentials","message":"m"}')
    )


@pytest.mark.parametrize(
    "status, body, headers",
    [
        (401, b'{"status":"error","error":"invalid_code","message":"m"}', {}),  # wrong code
        (401, b'{"status":"error","error":"invalid_credentials","message":"m","x":1}', {}),
        (401, b'{"status":"error","error":"invalid_credentials","message":"m"}', {"date": "x"}),
        (500, b'{"status":"error","error":"invalid_request","message":"m"}', {}),
        (429, b'{"status":"locked","error":"account_locked","message":"m","retry_after":3}', {}),
    ],
)
def test_undescribed_answer_fails(openapi, status, body, headers):
    with pytest.raises(Exception):  # noqa: B017 - any openapi-core validation error
        check_against_spec(openapi, answer(status, body, **headers))
