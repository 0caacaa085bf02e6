"""Verdicts name the rule that was broken: a Schemathesis finding goes to the requirement of the
violated rule, and an answer the spec allows (411 for a chunked body) is not a failure."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.governing import Answer
from conformance.results import FAILED, PASSED
from conformance.tests.harness import embedded, judge
from conformance.tests.mutants import WithoutHeader
from reference_server.edge.app import build_app


def test_each_header_is_governed_by_the_id_its_description_starts_with():
    date = {"Date": "Mon, 01 Jan 2024 00:00:00 GMT"}
    assert Answer.of("GET /api/info", 200).broken_headers(date) == {"Cache-Control": "INFO-4"}
    login = Answer.of("POST /api/auth/login", 200)
    assert login.broken_headers(date) == {"Cache-Control": "SESS-1"}  # a token response
    assert login.broken_headers({**date, "Cache-Control": "no-store"}) == {}
    assert login.broken_headers({"Cache-Control": "max-age=60"}) == {
        "Date": "INFO-3",
        "Cache-Control": "SESS-1",
    }
    locked = Answer.of("POST /api/auth/login", 429)
    assert locked.broken_headers({**date, "Cache-Control": "no-store"}) == {"Retry-After": "LOCK-2"}


def test_a_body_is_governed_by_its_response_or_the_response_form():
    assert Answer.of("POST /api/auth/login", 200).body_id(200) == "LOGIN-1"
    assert Answer.of("POST /api/auth/verify", 200).body_id(200) == "SESS-1"
    assert Answer.of("GET /api/info", 200).body_id(200) == "INFO-1"
    assert Answer.of("POST /api/auth/verify", 401).body_id(401) == "INFO-4"
    assert Answer.of("GET /api/info", 599) is not None
    assert Answer.of("GET /api/nothing", 200) is None


class InfoWithoutNoStore:
    """`/api/info` alone answers without Cache-Control (one broken rule: INFO-4)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.stripped = WithoutHeader(app, b"cache-control")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = scope["type"] == "http" and scope["path"] == "/api/info"
        await (self.stripped if info else self.app)(scope, receive, send)


def test_a_field_that_names_its_rule_governs_what_is_wrong_inside_it():
    # A short challenge token breaks CHAL-1, not LOGIN-1 (whose answer carries it).
    login = Answer.of("POST /api/auth/login", 200)
    verify = Answer.of("POST /api/auth/verify", 200)
    assert login is not None and verify is not None
    assert login.property_id(["challenge_token"]) == "CHAL-1"
    assert verify.property_id(["session_token"]) == "SESS-1"
    assert login.property_id(["status"]) is None  # then the answer's own ID (body_id)
    assert login.property_id([]) is None


def test_a_schemathesis_finding_is_reported_under_the_rule_it_breaks():
    app = lambda auth, clock, hashing: InfoWithoutNoStore(build_app(auth, clock, hashing))  # noqa: E731
    _, result = judge(embedded(app=app), only=["INPUT-1", "INFO-4"])
    verdicts = result.verdicts()
    assert verdicts["INPUT-1"].verdict == PASSED, verdicts["INPUT-1"].reason
    assert verdicts["INFO-4"].verdict == FAILED
    found = [c for c in verdicts["INFO-4"].cases if c.name.startswith("test_INPUT_1_schema")]
    assert found and "GET /api/info" in found[0].message, [c.name for c in verdicts["INFO-4"].cases]


class RefusesChunkedBodies:
    """411 Length Required for a body without Content-Length (RFC 9112 §6.3)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        names = (
            {k.lower() for k, _ in scope.get("headers", [])} if scope["type"] == "http" else set()
        )
        if b"transfer-encoding" in names and b"content-length" not in names:
            start: Message = {
                "type": "http.response.start",
                "status": 411,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
            await send(start)
            body = b'{"status":"error","error":"length_required","message":"Length required."}'
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def test_a_chunked_body_refused_with_411_passes_input_2():
    app = lambda auth, clock, hashing: RefusesChunkedBodies(build_app(auth, clock, hashing))  # noqa: E731
    _, result = judge(embedded(app=app), only=["INPUT-2"])
    verdict = result.verdicts()["INPUT-2"]
    assert verdict.verdict == PASSED, verdict.reason
