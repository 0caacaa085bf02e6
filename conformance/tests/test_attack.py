"""The attack cases' shared parts: what they read from /api/info and answers, and addresses."""

from __future__ import annotations

import httpx
import pytest

from conformance.attack import (
    Throttle,
    busy_retry_after,
    loopback_v4,
    other_address,
    percentile,
    source_addresses,
    throttle_of,
)


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ({"throttle": {"max_failures": 50, "window_s": 300}}, Throttle(50, 300)),
        ({}, None),
        ({"throttle": None}, None),
        ({"throttle": {"max_failures": 50}}, None),
        ({"throttle": {"max_failures": "50", "window_s": 300}}, None),
        ({"throttle": {"max_failures": True, "window_s": 300}}, None),
        ({"throttle": {"max_failures": 0, "window_s": 300}}, None),
        ("not an object", None),
    ],
)
def test_throttle_is_read_only_when_well_formed(info, expected):
    assert throttle_of(info) == expected


def _answer(status: int, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers)


BUSY = b'{"status":"error","error":"busy","message":"later"}'


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (_answer(503, BUSY, {"Retry-After": "2"}), 2),
        (_answer(503, BUSY, {}), None),
        (_answer(503, BUSY, {"Retry-After": "0"}), None),
        (_answer(503, BUSY, {"Retry-After": "soon"}), None),
        (_answer(503, b'{"error":"clock_not_synced"}', {"Retry-After": "2"}), None),
        (_answer(401, BUSY, {"Retry-After": "2"}), None),
    ],
)
def test_only_a_well_formed_busy_answer_gives_a_retry(response, expected):
    assert busy_retry_after(response) == expected


def test_other_addresses_exist_only_on_loopback():
    assert loopback_v4("https://127.0.0.1:8443")
    assert other_address("http://127.0.0.1:80") == "127.0.0.2"
    assert source_addresses("http://127.0.0.1", 3, 10) == ["127.0.0.10", "127.0.0.11", "127.0.0.12"]
    assert not loopback_v4("https://192.0.2.10")
    assert other_address("https://192.0.2.10") is None
    assert source_addresses("https://192.0.2.10", 3, 10) == []


def test_percentile_is_nearest_rank():
    assert percentile([], 0.5) == 0.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 1.0) == 4.0
