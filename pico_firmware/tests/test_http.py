"""The HTTP layer and the endpoints over an in-memory stream: framing, limits, routing,
errors, headers, the whole flow."""

import asyncio
import json

from fakes import SECRET, Stream, make
from tfa import api, http, totp

PEER = ("192.0.2.7", 4242)


def _app(audit=None, saturated=None):
    auth, clock, store = make(lockout=300, session=3600, challenge=120)
    app = http.App(clock, idle_s=1)
    log = audit if audit is not None else []

    def record(kind, username, source, outcome):
        log.append((kind, username, source, outcome))

    def info():
        return {"api_version": "1"}

    api.routes(app, auth, clock, info, record, lambda: {}, saturated)
    return app, auth, clock


async def _ticking(app, coro):
    """Run coro with app.tick() every 50 ms, as the firmware's loop calls it."""

    async def ticker():
        while True:
            app.tick()
            await asyncio.sleep_ms(50)

    t = asyncio.create_task(ticker())
    try:
        await coro
    finally:
        t.cancel()


def _send(app, raw, stall=False):
    s = Stream(raw, stall)
    asyncio.run(_ticking(app, app.handle_request(s, PEER)))
    if not s.out:
        return None, {}, None
    head, _, body = s.out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for ln in lines[1:]:
        k, v = ln.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return status, headers, json.loads(body) if body else None


def _post(path, body, ctype="application/json", extra=""):
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
    head += f"Content-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def test_http_date():
    assert http.http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http.http_date(1795000020) == "Wed, 18 Nov 2026 11:07:00 GMT"
    assert http.http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT"


def test_error_table_gives_each_code_its_status_and_message():
    # the table itself is checked against the reference server's, on the host
    # (pico_firmware/host/tests/test_error_table.py)
    rows = [ln.split(" ", 2) for ln in http.ERRORS.strip().split("\n")]
    assert len(rows) == 15
    for code, status, message in rows:
        res = http.error(code)
        body = json.loads(res.body)
        assert res.status_code == int(status), code
        assert sorted(body) == ["error", "message", "status"] and body["error"] == code
        assert body["status"] == "error" and body["message"] == message
    assert http.row(http.REASONS, 404) == "Not Found"
    assert http.row(http.REASONS, 200) == "OK"
    assert http.row(http.REASONS, 431) == "Request Header Fields Too Large"


def test_every_answer_has_date_and_no_store():
    app, auth, clock = _app()
    status, h, body = _send(app, b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and body == {"api_version": "1"}
    assert h["date"] == http.http_date(clock.now())
    assert h["cache-control"] == "no-store"


def test_a_query_string_is_ignored():
    app, _, _ = _app()
    status, _, body = _send(app, b"GET /api/info?a=1&b=%zz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and body == {"api_version": "1"}
    status, _, body = _send(app, b"GET /nope?a=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 404 and body["error"] == "not_found"


def test_unknown_path_and_wrong_method():
    app, _, _ = _app()
    for path in (b"/nope", b"/api/info/", b"/API/INFO", b"/api/auth", b"/api/info/x"):
        status, h, body = _send(app, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 404 and body["error"] == "not_found" and body["status"] == "error"
        assert h["content-type"] == "application/json; charset=UTF-8" and "allow" not in h
    status, h, body = _send(app, b"DELETE /api/auth/login HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and body["error"] == "method_not_allowed"
    assert h["allow"] == "POST"
    status, h, body = _send(app, b"GET /api/auth/logout HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and h["allow"] == "POST"
    status, h, body = _send(app, b"OPTIONS /api/info HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and h["allow"] == "GET, HEAD"
    status, h, body = _send(app, b"post /api/auth/login HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405  # methods are case-sensitive (RFC 9110 §9.1)
    app.route("PUT", "/api/info", lambda req: {})
    status, h, body = _send(app, b"DELETE /api/info HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and h["allow"] == "GET, HEAD, PUT"


def test_head_is_get_without_the_body():
    app, _, _ = _app()
    s = Stream(b"HEAD /api/info HTTP/1.1\r\nHost: x\r\n\r\n")
    asyncio.run(_ticking(app, app.handle_request(s, PEER)))
    head, _, body = s.out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 OK\r\n") and body == b""
    assert b"\r\nContent-Length: %d\r\n" % len(b'{"api_version": "1"}') in head
    assert b"\r\nConnection: close\r\n" in head


def test_bad_bodies_change_nothing():
    log = []
    app, auth, _ = _app(log)
    cases = [
        (_post("/api/auth/login", "{"), 400, "invalid_request"),
        (_post("/api/auth/login", "[]"), 400, "invalid_request"),
        (_post("/api/auth/login", "[" * 500), 400, "invalid_request"),
        (_post("/api/auth/login", '{"a":' * 200), 400, "invalid_request"),
        (_post("/api/auth/login", {"username": "alice"}), 400, "invalid_request"),
        (_post("/api/auth/login", {"username": "alice", "password": 5}), 400, "invalid_request"),
        (_post("/api/auth/login", {"username": "a" * 65, "password": "x"}), 400, "invalid_request"),
        (_post("/api/auth/login", {"username": "alice", "password": "x"}, "text/plain"), 415, None),
        (_post("/api/auth/login", "x" * 1025), 413, "payload_too_large"),
        (_post("/api/auth/verify", {"challenge_token": "t", "totp_code": "12345a"}), 400, None),
        (
            _post("/api/auth/verify", {"challenge_token": "t", "totp_code": "１２３４５６"}),
            400,
            None,
        ),
        (_post("/api/auth/verify", {"challenge_token": "t"}), 400, None),
        (
            _post(
                "/api/auth/verify", {"challenge_token": "t", "totp_code": "1", "backup_code": "x"}
            ),
            400,
            None,
        ),
    ]
    for raw, want, code in cases:
        status, _, body = _send(app, raw)
        assert status == want, (raw, status, body)
        if code:
            assert body["error"] == code
    assert auth.rows == {} and auth.lockout.writes == 0


def test_brackets_inside_strings_are_not_nesting():
    app, _, _ = _app()
    body = {"username": "alice", "password": "[[[[[[[[[[[[{{{{{{{{{{"}
    status, _, answer = _send(app, _post("/api/auth/login", body))
    assert status == 401 and answer["error"] == "invalid_credentials"


def test_oversize_header_section_gets_431():
    app, _, _ = _app()
    raw = b"GET /api/info HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 5000 + b"\r\n\r\n"
    status, _, body = _send(app, raw)
    assert status == 431 and body["error"] == "request_header_fields_too_large"


def test_too_many_header_lines_get_431():
    app, _, _ = _app()
    raw = b"GET /api/info HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 60 + b"\r\n"
    assert _send(app, raw)[0] == 431
    raw = b"GET /api/info HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 40 + b"\r\n"
    assert _send(app, raw)[0] == 200


def test_chunked_body_is_counted():
    app, _, _ = _app()
    body = json.dumps({"username": "alice", "password": "nope"}).encode()
    head = b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    raw = head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    status, _, answer = _send(app, raw)
    assert status == 401 and answer["error"] == "invalid_credentials"
    big = head + (b"200\r\n" + b"x" * 512 + b"\r\n") * 3 + b"0\r\n\r\n"
    assert _send(app, big)[0] == 413


def test_silent_or_trickling_client_is_dropped():
    app, _, _ = _app()
    assert _send(app, b"", stall=True)[0] is None
    assert _send(app, b"GET /api/info HTTP/1.1\r\n", stall=True)[0] is None


def test_a_head_that_cannot_be_one_is_refused_before_it_ends():
    app, _, _ = _app()
    # no blank line will follow, and the client waits: answered 400, not left to the idle timeout
    assert _send(app, bytes(range(256)) * 4, stall=True)[0] == 400
    assert _send(app, b"GET /api/info HTTP/1.1\r\nHost: x\x00", stall=True)[0] == 400
    assert _send(app, b"GET /api/in\x7ffo HTTP/1.1\r\n", stall=True)[0] == 400
    # what can still become a head is waited for (and dropped at the idle timeout)
    assert _send(app, b"GET /api/info HTTP/1.1\r\nX-A:\tb\r\n", stall=True)[0] is None


def test_an_answer_written_a_little_at_a_time_arrives_whole():
    app, _, _ = _app()
    raw = b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n"
    whole = Stream(raw)
    asyncio.run(_ticking(app, app.handle_request(whole, PEER)))
    slow = Stream(raw)
    slow.wmax = 7
    asyncio.run(_ticking(app, app.handle_request(slow, PEER)))
    assert slow.out == whole.out and whole.out.endswith(b'\r\n\r\n{"api_version": "1"}')


def test_a_crashing_handler_is_a_json_500():
    app, _, _ = _app()

    def boom(req):
        raise ValueError("boom")

    def nothing_left(req):
        raise MemoryError()

    app.route("GET", "/boom", boom)
    app.route("GET", "/full", nothing_left)
    for path in (b"/boom", b"/full"):
        status, h, body = _send(app, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 500 and body["error"] == "internal_error"
        assert h["content-type"].startswith("application/json")
    assert _send(app, b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200


def test_a_saturated_board_answers_a_login_busy_unjudged():
    log = []
    asked = []

    def saturated(ip):
        asked.append(ip)
        return ip == PEER[0]

    app, auth, clock = _app(log, saturated)
    wrong = {"username": "alice", "password": "nope"}
    for _ in range(8):  # more than the lockout's 5: none is counted
        status, h, body = _send(app, _post("/api/auth/login", wrong))
        assert status == 503 and body["error"] == "busy" and h["retry-after"] == "1"
    assert asked == [PEER[0]] * 8
    assert log[-1] == ("login", "alice", PEER[0], "busy")
    assert auth.retry_after("alice", clock.now()) == 0  # nothing was judged
    status, h, body = _send(app, _post("/api/auth/login", {"username": ""}))
    assert status == 400  # a bad body is refused first, as ever


def test_login_verify_dashboard_logout_and_the_audit_log():
    log = []
    app, auth, clock = _app(log)
    status, h, body = _send(
        app, _post("/api/auth/login", {"username": "alice", "password": "nope"})
    )
    assert status == 401 and body["error"] == "invalid_credentials"
    login = {"username": "alice", "password": "correct horse", "extra": 1}
    status, h, body = _send(app, _post("/api/auth/login", login))
    assert status == 200 and body["status"] == "2fa_required" and body["expires_in"] == 120
    code = totp.hotp(SECRET, totp.step(clock.now()))
    verify = {"challenge_token": body["challenge_token"], "totp_code": code}
    status, h, body = _send(app, _post("/api/auth/verify", verify))
    assert status == 200 and body["token_type"] == "Bearer"  # noqa: S105
    assert body["expires_in"] == 3600
    tok = body["session_token"]
    auth_h = f"Authorization: bearer {tok}\r\n"
    raw = (f"GET /api/dashboard HTTP/1.1\r\nHost: x\r\n{auth_h}\r\n").encode()
    status, h, body = _send(app, raw)
    assert status == 200 and body["user"] == {"username": "alice"}
    assert body["session"]["expires_at"] == clock.now() + 3601  # the first second it is invalid
    status, h, body = _send(
        app, (f"POST /api/auth/logout HTTP/1.1\r\nHost: x\r\n{auth_h}\r\n").encode()
    )
    assert status == 204 and body is None and "content-type" not in h
    assert "content-length" not in h  # RFC 9110 §8.6
    status, h, body = _send(app, raw)
    assert status == 401 and body["error"] == "invalid_token"
    assert h["www-authenticate"] == 'Bearer realm="tfa", error="invalid_token"'
    status, h, body = _send(app, b"GET /api/dashboard HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 401 and body["error"] == "missing_token"
    assert h["www-authenticate"] == 'Bearer realm="tfa"'
    outcomes = [(e[0], e[1], e[2], e[3]) for e in log]
    assert outcomes == [
        ("login", "alice", "192.0.2.7", "invalid_credentials"),
        ("login", "alice", "192.0.2.7", "challenge_issued"),
        ("verify", "alice", "192.0.2.7", "success"),
        ("logout", "alice", "192.0.2.7", "revoked"),
    ]
    for e in log:
        assert "correct horse" not in repr(e) and code not in repr(e) and tok not in repr(e)


def test_lockout_answer_carries_retry_after():
    app, _, _ = _app()
    bad = _post("/api/auth/login", {"username": "ghost", "password": "nope"})
    for _ in range(5):
        assert _send(app, bad)[0] == 401
    status, h, body = _send(app, bad)
    # a 300 s lock, through its last whole second: 301 s left at most, rounded up
    assert status == 429 and body["status"] == "locked" and body["retry_after"] == 301
    assert h["retry-after"] == "301"
    assert sorted(body) == ["error", "message", "retry_after", "status"]


def test_header_line_without_a_proper_name_is_malformed():
    app, _, _ = _app()
    assert _send(app, b"GET /api/info HTTP/1.1\r\nHost 127.0.0.1:1\r\n\r\n")[0] == 400
    assert _send(app, b"GET /api/info HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n")[0] == 400
    assert _send(app, b"GET /api/info HTTP/1.1\r\n" + b"Host: x\r\n" * 2 + b"\r\n")[0] == 400
    assert _send(app, b"GET /api/info HTTP/1.1\r\nAccept: */*\r\n\r\n")[0] == 400
    assert _send(app, b"GET /api/info HTTP/1.0\r\n\r\n")[0] == 200


def test_oversize_body_is_answered_then_drained():
    app, _, _ = _app()
    s = Stream(_post("/api/auth/login", "x" * 100000))
    asyncio.run(_ticking(app, app.handle_request(s, PEER)))
    assert s.out.startswith(b"HTTP/1.0 413 ")
    assert s.data == b""  # the rest was read, so closing does not reset the connection


def test_peer_addresses_from_raw_sockaddrs():
    from tfa.server import _peer

    v4 = bytes([2, 0, 0x1F, 0x90, 127, 0, 0, 1]) + bytes(8)
    assert _peer(v4) == ("127.0.0.1", 8080)
    v6 = bytes([10, 0, 0x1F, 0x90, 0, 0, 0, 0]) + bytes(15) + b"\x01" + bytes(4)
    assert _peer(v6) == ("0:0:0:0:0:0:0:1", 8080)
    assert _peer(("192.0.2.1", 5)) == ("192.0.2.1", 5)
    assert _peer(b"") == ("?", 0)


def test_framing_rfc_9112():
    # INPUT-8: each refused request is answered 400 or 413 and changes nothing
    app, auth, _ = _app()
    get = b"GET /api/info HTTP/1.1\r\nHost: x\r\n"
    login = b'{"username": "alice", "password": "x"}'
    cases = [
        (get + b"X-A: a\x00b\r\n\r\n", 400),  # NUL in a value
        (get + b"X-A: a\rb\r\n\r\n", 400),  # bare CR
        (get + b"X-A: a\nb\r\n\r\n", 400),  # bare LF
        (get + b"X-A: a\x1bb\r\n\r\n", 400),  # another control character
        (get + b"X-A: a\x7fb\r\n\r\n", 400),  # DEL
        (b"GET /api/info HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET /api/info HTTP/2.0\r\nHost: x\r\n\r\n", 400),
        (b"GET /api/info HTTP/1.5\r\nHost: x\r\n\r\n", 400),
        (b"GET /api/info\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (_post("/api/auth/login", login, extra="Transfer-Encoding: chunked\r\n"), 400),
        (_post("/api/auth/login", b"", extra="Content-Length: 5\r\n"), 400),  # repeated
    ]
    for length, want in (("99999999999999999999", 413), ("1025", 413), ("+5", 400), ("-1", 400)):
        head = b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        cases.append((head + b"Content-Length: " + length.encode() + b"\r\n\r\n" + login, want))
    for raw, want in cases:
        assert _send(app, raw)[0] == want, raw
    assert auth.lockout.writes == 0
    assert _send(app, get + b"X-A: a\tb\r\n\r\n")[0] == 200  # HTAB is allowed in a value
    assert _send(app, get + b"\r\n")[0] == 200
