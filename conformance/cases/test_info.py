"""INFO: server facts (`GET /api/info`).

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

from conformance import requirement
from conformance.checks import (
    date_of,
    describe,
    expect_error,
    expect_json_object,
    expect_no_store,
    expect_status,
    unknown_name,
)

TOTP_POLICY = {"algorithm": "SHA1", "digits": 6, "period": 30, "skew_steps": 1}


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@requirement("INFO-1", "clients learn the policy and the server's clock from /api/info")
def test_INFO_1_info_facts(api, conformance):
    response = api.info()
    expect_status(response, 200)
    info = expect_json_object(response)
    assert info.get("api_version") == "1", f'api_version must be "1": {describe(response)}'
    assert _int(info.get("server_time")), (
        f"server_time must be integer seconds: {describe(response)}"
    )
    assert abs(info["server_time"] - conformance.now) <= 2 + conformance.clock.uncertainty, (
        f"server_time {info['server_time']} is not the server's clock "
        f"(expected ~{conformance.now:.0f})"
    )
    assert isinstance(info.get("time_synced"), bool), "time_synced must be a boolean"
    assert info.get("profile") in ("production", "test"), f"profile {info.get('profile')!r}"
    assert info.get("totp") == TOTP_POLICY, f"totp must be {TOTP_POLICY}, got {info.get('totp')}"
    lockout = info.get("lockout")
    assert isinstance(lockout, dict), "lockout must be an object"
    assert lockout.get("max_failures") == 5, f"lockout.max_failures must be 5: {lockout}"
    assert _int(lockout.get("duration_s")) and lockout["duration_s"] > 0, f"duration_s: {lockout}"
    for key in ("session_ttl_s", "challenge_ttl_s"):
        assert _int(info.get(key)) and info[key] > 0, f"{key} must be a positive integer: {info}"


@requirement("INFO-2", "production durations are fixed; a test profile only shortens them")
def test_INFO_2_profile_durations(api, notes):
    info = expect_json_object(api.info())
    profile = info.get("profile")
    lockout = info.get("lockout") or {}
    notes.append(
        f"profile tested: {profile} (lockout {lockout.get('duration_s')} s, session "
        f"{info.get('session_ttl_s')} s, challenge {info.get('challenge_ttl_s')} s)"
    )
    if profile == "production":
        assert lockout.get("duration_s") == 300, (
            f"production lockout.duration_s must be 300: {lockout}"
        )
        assert info.get("session_ttl_s") == 3600, "production session_ttl_s must be 3600"
        assert _int(info.get("challenge_ttl_s")) and info["challenge_ttl_s"] <= 300, (
            f"production challenge_ttl_s must be <= 300, got {info.get('challenge_ttl_s')}"
        )
    else:
        assert profile == "test", f"profile must be production or test, got {profile!r}"
        assert lockout.get("duration_s", 0) <= 300, "a test profile may only shorten the lockout"
        assert info.get("session_ttl_s", 0) <= 3600, "a test profile may only shorten sessions"
    assert info.get("totp") == TOTP_POLICY, "no profile changes the TOTP parameters"
    assert lockout.get("max_failures") == 5, "no profile changes the failure count"


@requirement("INFO-3", "clients check their clock against Date; every answer carries it")
def test_INFO_3_date_header(api, conformance):
    response = api.info()
    info = expect_json_object(response)
    assert abs(date_of(response) - info["server_time"]) <= 2, (
        f"Date {response.headers.get('date')!r} is more than 2 s from "
        f"server_time {info['server_time']}"
    )
    tolerance = 2 + conformance.clock.uncertainty + 1
    for ask in (
        lambda: api.request("GET", "/api/no-such-path"),
        lambda: api.request("DELETE", "/api/info"),
        lambda: api.dashboard(None),
        lambda: api.login(unknown_name(), "wrong-password"),
    ):
        # each Date against the time its own request was in flight: on a slow target (a board
        # hashing a login, a queue of TLS handshakes) the four take seconds one after another
        sent = conformance.now
        other = ask()
        answered = conformance.now
        assert sent - tolerance <= date_of(other) <= answered + tolerance, (
            f"Date {other.headers.get('date')!r} is not the server's time: {describe(other)}"
        )


@requirement("INFO-4", "no answer is stored, every body is JSON, every error its own form")
def test_INFO_4_response_form(api):
    answers = [
        (api.info(), 200, None),
        (api.request("GET", "/api/nothing-here"), 404, "not_found"),
        (api.request("DELETE", "/api/info"), 405, "method_not_allowed"),
        (api.post_raw("/api/auth/login", b"{not json"), 400, "invalid_request"),
        (api.post_raw("/api/auth/login", b"{}", "text/plain"), 415, "unsupported_media_type"),
        (api.dashboard(None), 401, "missing_token"),
    ]
    for response, status, code in answers:
        expect_no_store(response)
        content_type = response.headers.get("content-type", "")
        assert content_type.split(";")[0].strip().lower() == "application/json", (
            f"Content-Type {content_type!r} is not application/json: {describe(response)}"
        )
        if code is None:
            expect_status(response, status)
            expect_json_object(response)
        else:
            expect_error(response, status, code)
