"""INPUT: bad input, oversized requests, slow clients, and the server still standing afterwards.

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import json
import time

import httpx

from conformance import RUNS_ALONE, SPENDS_STEPS, requirement
from conformance.api import body_of
from conformance.checks import (
    describe,
    expect_error,
    expect_json_object,
    expect_status,
    unknown_name,
)
from conformance.rawsock import connect, exchange, host_header, is_closed, status_of
from conformance.timing import RAW_SOCKET, timed

_JSON = "application/json"


BODY_LIMIT = 1024
TRICKLE_EVERY_S = 0.5  # one byte per interval: slow, but never silent
POLL_S = 0.1  # how often INPUT-4 looks for dropped connections
HEADER_LIMIT = 4096


def _info_still_right(api) -> None:
    response = api.info()
    expect_status(response, 200)
    info = expect_json_object(response)
    assert info.get("api_version") == "1" and isinstance(info.get("server_time"), int), (
        f"/api/info is no longer right: {describe(response)}"
    )


@requirement("INPUT-1", "malformed requests get 400/415 and change nothing", needs=(SPENDS_STEPS,))
def test_INPUT_1_bad_bodies(api, conformance, clean_account):
    account = clean_account
    user, password = account.username, account.password
    # Unknown extra fields are ignored: a login and a verify that carry one sign in. First, as
    # the success resets the counter, which the malformed requests below must leave as it is.
    conformance.ready(account)  # any wait for a usable step comes before the challenge
    response = api.login(user, password, extra_field={"ignored": True})
    expect_status(response, 200)
    challenge = str(body_of(response)["challenge_token"])
    code, step = conformance.next_code(account)
    response = api.post_json(
        "/api/auth/verify", {"challenge_token": challenge, "totp_code": code, "x": 1}
    )
    if response.status_code == 401:  # the code itself refused: TOTP-1/2's rule, not this one
        conformance.succeeded(response, "a right code with an extra field", step)
    expect_status(response, 200)
    challenge = conformance.login_ok(api, account, then_verify=False)
    bad_login = [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'"a string"', "application/json", 400),
        (b"123", "application/json", 400),
        (b"null", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"username": "\xff\xfe", "password": "x"}', "application/json", 400),
        (json.dumps({"username": user}).encode(), "application/json", 400),
        (json.dumps({"password": password}).encode(), "application/json", 400),
        (json.dumps({"username": 123, "password": password}).encode(), "application/json", 400),
        (json.dumps({"username": user, "password": [password]}).encode(), "application/json", 400),
        (json.dumps({"username": user, "password": None}).encode(), "application/json", 400),
        (json.dumps({"username": user, "password": 123456}).encode(), "application/json", 400),
        (json.dumps({"username": user, "password": True}).encode(), "application/json", 400),
        (json.dumps({"username": user, "password": {"p": password}}).encode(), _JSON, 400),
        (json.dumps({"username": [user], "password": password}).encode(), _JSON, 400),
        (json.dumps({"username": {"u": user}, "password": "x"}).encode(), _JSON, 400),
        (json.dumps({"username": "u" * 65, "password": "x"}).encode(), "application/json", 400),
        (json.dumps({"username": "", "password": "x"}).encode(), "application/json", 400),
        (json.dumps({"username": user, "password": ""}).encode(), "application/json", 400),
        (json.dumps({"username": user, "password": "p"}).encode(), "text/plain", 415),
        (json.dumps({"username": user, "password": "p"}).encode(), None, 415),
        (f"username={user}&password=p".encode(), "application/x-www-form-urlencoded", 415),
    ]
    for content, content_type, status in bad_login:
        response = api.post_raw("/api/auth/login", content, content_type)
        assert response.status_code < 500, f"bad input caused a server error: {describe(response)}"
        expect_error(
            response, status, "invalid_request" if status == 400 else "unsupported_media_type"
        )
    bad_verify = [
        {"challenge_token": challenge},
        {"totp_code": "123456"},
        {"challenge_token": challenge, "totp_code": "123456", "backup_code": "abcde"},
        {"challenge_token": 5, "totp_code": "123456"},
        {"challenge_token": challenge, "totp_code": 123456},
        {"challenge_token": challenge, "totp_code": None},
        {"challenge_token": [challenge], "totp_code": "123456"},
        {"challenge_token": challenge, "totp_code": True},
        {"challenge_token": challenge, "totp_code": ["123456"]},
        {"challenge_token": challenge, "totp_code": {"code": "123456"}},
        {"challenge_token": challenge, "backup_code": 12345678},
        {"challenge_token": challenge, "backup_code": None},
        {"challenge_token": challenge, "backup_code": ["x"]},
    ]
    for body in bad_verify:
        response = api.post_json("/api/auth/verify", body)
        assert response.status_code < 500, f"bad input caused a server error: {describe(response)}"
        expect_error(response, 400, "invalid_request")
    for content, content_type, status in (
        (b"{oops", "application/json", 400),
        (b"{}", "text/plain", 415),
    ):
        response = api.post_raw("/api/auth/verify", content, content_type)
        expect_error(
            response, status, "invalid_request" if status == 400 else "unsupported_media_type"
        )
    # None of that counted, for the account each body named: four real failures (wrong codes
    # on the challenge above) are judged 401 and the right password still gets a challenge (a
    # fifth failure would have locked).
    failures = conformance.fail_to(api, account, conformance.policy.max_failures - 1, challenge)
    for n, response in enumerate(failures):
        assert response.status_code == 401, (
            f"malformed requests were counted: failure {n + 1} afterwards "
            f"answered {describe(response)}"
        )
    response = api.login(user, password)
    assert response.status_code != 429, (
        f"{len(bad_login)} malformed logins and {len(bad_verify) + 2} malformed verifies naming "
        f"{user} changed its counter: 4 failures after them locked it: {describe(response)}"
    )
    expect_status(response, 200)
    # (The account is left with its four failures: a case that locks one tops them up.)


@requirement("INPUT-2", "a small device must bound what it reads: 413 and 431")
def test_INPUT_2_size_limits(api, conformance):
    def login_body(size: int) -> bytes:
        base = {"username": unknown_name(), "password": "wrong", "pad": ""}
        overhead = len(json.dumps(base).encode())
        base["pad"] = "p" * (size - overhead)
        content = json.dumps(base).encode()
        assert len(content) == size
        return content

    at_limit = api.post_raw("/api/auth/login", login_body(BODY_LIMIT))
    assert at_limit.status_code != 413, (
        f"a body of exactly {BODY_LIMIT} bytes was refused as too large"
    )
    expect_status(at_limit, 401)  # judged as a login (how, LOGIN-3 judges)
    for size in (BODY_LIMIT + 1, 4000, 100_000):
        response = api.post_raw("/api/auth/login", login_body(size))
        expect_error(response, 413, "payload_too_large")
    response = api.post_raw("/api/auth/verify", login_body(2000))
    expect_error(response, 413, "payload_too_large")

    def chunks():
        yield b'{"username": "' + unknown_name().encode() + b'", "password": "'
        for _ in range(40):
            yield b"x" * 100
        yield b'"}'

    try:
        response = api.client.post(
            "/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
        )
        if response.status_code != 411:  # RFC 9112 §6.3: a server may require Content-Length
            expect_error(response, 413, "payload_too_large")
    except httpx.HTTPError as exc:
        api.recorder.raw("POST", "/api/auth/login (chunked, 4 kB)", b"", b"", repr(exc))
        raise AssertionError(
            f"a chunked body over {BODY_LIMIT} bytes was not answered 413: {exc!r}"
        ) from exc
    for headers in (
        {"X-Padding": "h" * 5000},
        {f"X-Pad-{i}": "h" * 60 for i in range(80)},
    ):
        try:
            response = api.request("GET", "/api/info", headers=headers)
        except httpx.HTTPError as exc:
            api.recorder.raw(
                "GET", "/api/info (headers > 4096 bytes)", b"", b"", f"closed: {exc!r}"
            )
        else:
            assert response.status_code == 431, (
                f"a header section over {HEADER_LIMIT} bytes was not refused (431 or close): "
                f"{describe(response)}"
            )
            expect_error(response, 431, "request_header_fields_too_large")
    _info_still_right(api)


@requirement("INPUT-3", "unknown paths and methods are answered as JSON errors")
def test_INPUT_3_not_found_and_method(api):
    for path in ("/api/nothing-here", "/nothing", "/api/auth", "/api/auth/login/extra"):
        expect_error(api.request("GET", path), 404, "not_found")
    for method, path, allowed in (
        ("GET", "/api/auth/login", "POST"),
        ("PUT", "/api/auth/verify", "POST"),
        ("DELETE", "/api/info", "GET"),
        ("POST", "/api/dashboard", "GET"),
        ("GET", "/api/auth/logout", "POST"),
    ):
        response = api.request(method, path)
        expect_error(response, 405, "method_not_allowed")
        allow = {m.strip().upper() for m in response.headers.get("allow", "").split(",")}
        assert allowed in allow, f"Allow {response.headers.get('allow')!r} lacks {allowed}"


@requirement(
    "INPUT-4", "idle or trickling clients must not occupy a small server", needs=(RUNS_ALONE,)
)
def test_INPUT_4_idle_clients_dropped(api, conformance, notes):
    base_url, verify = conformance.target.base_url, conformance.verify
    limit = conformance.target.idle_limit_s
    idle = {
        "silent connection (no TLS handshake)": connect(base_url, verify, tls=False),
        "silent connection": connect(base_url, verify),
        "trickling request": connect(base_url, verify),
    }
    # The head never ends: after its start, the header value goes on one byte at a time.
    head = f"GET /api/info HTTP/1.1\r\nHost: {host_header(base_url)}\r\nX-Slow: ".encode()
    started = time.monotonic()
    dropped: dict[str, float] = {}
    try:
        served = api.info()
        assert served.status_code == 200, "another client was not served while idle ones were open"
        served_in = time.monotonic() - started
        sent, next_byte = 0, started
        with timed(RAW_SOCKET):
            while time.monotonic() - started < limit and len(dropped) < len(idle):
                trickle = time.monotonic() >= next_byte
                for name, sock in idle.items():
                    if name in dropped:
                        continue
                    if name == "trickling request" and trickle:
                        try:
                            sock.send(head[sent : sent + 1] if sent < len(head) else b"x")
                        except OSError:
                            dropped[name] = time.monotonic() - started
                            continue
                    if is_closed(sock, 0.01):
                        dropped[name] = time.monotonic() - started
                if trickle:
                    sent += 1
                    next_byte += TRICKLE_EVERY_S
                time.sleep(POLL_S)
        during = api.info()
        expect_status(during, 200)
    finally:
        for sock in idle.values():
            sock.close()
    notes.append(
        f"another client served in {served_in:.2f} s; dropped after: "
        + ", ".join(f"{name} {t:.1f} s" for name, t in dropped.items())
    )
    kept = [name for name in idle if name not in dropped]
    assert not kept, f"still connected after {limit:.0f} s: {', '.join(kept)}"
    _info_still_right(api)


@requirement("INPUT-5", "no sequence of bad input takes the server down", needs=(RUNS_ALONE,))
def test_INPUT_5_survives_garbage(api, conformance):
    base_url, verify = conformance.target.base_url, conformance.verify
    host = host_header(base_url)
    garbage = [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /api/info HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        b"GET /api/info HTTP/1.1\r\nHost " + host.encode() + b"\r\n\r\n",
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        bytes(range(256)) * 4,
        b"\x00" * 512 + b"\r\n\r\n",
        b"GET /api/info HTTP/1.1\r\n" + b"Host: x\r\n" * 300 + b"\r\n",
    ]
    for data in garbage:
        sock = connect(base_url, verify)
        try:
            with timed(RAW_SOCKET):
                received, ending = exchange(sock, data, timeout=8.0)
        finally:
            sock.close()
        status = status_of(received)
        api.recorder.raw("RAW", base_url, data, received, ending)
        assert status is None or 400 <= status < 500 or status == 505, (
            f"malformed request {data[:40]!r} answered {status} "
            "(expected 4xx or a closed connection)"
        )
        assert ending != "timeout" or status is not None, (
            f"malformed request {data[:40]!r}: no answer and the connection stayed open"
        )
    _info_still_right(api)
    for body in (b"{", b"[" * 500, b'{"a":' * 200, "\U0001f600".encode() * 100):
        api.post_raw("/api/auth/login", body)  # its answer is INPUT-1's; standing is INPUT-5's
    _info_still_right(api)
