"""INPUT: bad input never changes a counter and never gives a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import challenge, code_for, login, verify

BAD_BODIES = [
    b"",
    b"{",
    b"[]",
    b'"text"',
    b"null",
    b"1e999999",
    b"\xff\xfe{}",
    b"[" * 500 + b"]" * 500,
    b'{"username": 1, "password": "x"}',
    b'{"username": "a"}',
    b'{"username": "", "password": "x"}',
    b'{"username": "a", "password": ""}',
    b'{"username": "' + b"a" * 65 + b'", "password": "x"}',
    b'{"username": "\\ud800", "password": "x"}',
    b'{"username": ["a"], "password": "x"}',
]


@pytest.mark.parametrize("raw", BAD_BODIES)
def test_INPUT_1_malformed_login_is_400_and_counts_nothing(client, server, raw):
    for _ in range(6):
        r = client.raw_post("/api/auth/login", raw)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert login(client, server).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"challenge_token": "x"},
        {"totp_code": "123456"},
        {"challenge_token": 5, "totp_code": "123456"},
        {"challenge_token": "x" * 129, "totp_code": "123456"},
        {"challenge_token": "x", "backup_code": ""},
        {"challenge_token": "x", "backup_code": "a" * 33},
        {"challenge_token": "x", "backup_code": None},
    ],
)
def test_INPUT_1_malformed_verify_is_400(client, body):
    r = client.post("/api/auth/verify", json=body)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_INPUT_1_wrong_content_type_is_415(client, server, content_type):
    account = server.accounts[0]
    raw = json.dumps({"username": account.username, "password": "wrong"}).encode()
    for _ in range(6):
        r = client.raw_post("/api/auth/login", raw, content_type)
        assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    assert login(client, server).status_code == 200


def test_INPUT_1_charset_parameter_and_extra_fields_accepted(client, server):
    account = server.accounts[0]
    raw = json.dumps({"username": account.username, "password": account.password, "x": 1})
    r = client.raw_post("/api/auth/login", raw.encode(), "application/json; charset=utf-8")
    assert r.status_code == 200


def test_INPUT_2_body_over_1024_bytes_is_413(client, server):
    account = server.accounts[0]
    raw = json.dumps({"username": account.username, "password": "p" * 1100}).encode()
    r = client.raw_post("/api/auth/login", raw)
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    exactly = b'{"username": "x", "password": "' + b"p" * (1024 - 33) + b'"}'
    assert len(exactly) == 1024
    assert client.raw_post("/api/auth/login", exactly).status_code == 400  # 991 chars > 256
    assert login(client, server).status_code == 200


def test_INPUT_2_streamed_body_counted(client):
    async def chunks():
        for _ in range(20):
            yield b"x" * 100

    r = client.post(
        "/api/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_INPUT_2_logout_with_a_big_body_is_413(client):
    r = client.post("/api/auth/logout", content=b"x" * 2000)
    assert r.status_code == 413


def test_INPUT_2_header_section_over_4096_is_431(client):
    r = client.get("/api/info", headers={"X-Big": "a" * 5000})
    assert r.status_code == 431 and r.json()["error"] == "request_header_fields_too_large"
    assert client.get("/api/info").status_code == 200


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("POST", "/api/info", "GET"),
        ("GET", "/api/auth/login", "POST"),
        ("PUT", "/api/auth/verify", "POST"),
        ("DELETE", "/api/dashboard", "GET"),
        ("GET", "/api/auth/logout", "POST"),
    ],
)
def test_INPUT_3_wrong_method_is_405_with_allow(client, method, path, allow):
    r = client.request(method, path)
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert allow in r.headers["allow"]


@pytest.mark.parametrize("path", ["/", "/api", "/api/info/", "/api/../etc/passwd", "/api/%00"])
def test_INPUT_3_unknown_path_is_404(client, path):
    r = client.get(path)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
fields = st.sampled_from(["username", "password", "challenge_token", "totp_code", "backup_code"])
bodies = st.one_of(
    st.binary(max_size=1200),
    st.dictionaries(fields, json_values, max_size=4).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(["/api/auth/login", "/api/auth/verify", "/api/auth/logout"]),
    raw=bodies,
    content_type=st.sampled_from(["application/json", "text/plain", "application/json; x=1"]),
)
def test_INPUT_1_random_bodies_never_5xx(client, path, raw, content_type):
    r = client.raw_post(path, raw, content_type)
    assert r.status_code < 500


def test_INPUT_5_info_still_answers_after_bad_input(client, server):
    for raw in BAD_BODIES:
        client.raw_post("/api/auth/verify", raw)
    client.get("/api/info", headers={"X-Big": "a" * 5000})
    r = client.get("/api/info")
    assert r.status_code == 200 and r.json()["api_version"] == "1"
    assert verify(client, challenge(client, server), code_for(server)).status_code == 200
