"""Cross-cutting work as pure ASGI middleware: framing (INPUT-8), header and body limits (INPUT-2),
and the `Date` (INFO-3) and `Cache-Control: no-store` headers on every response, errors included."""

from __future__ import annotations

import email.utils
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_server.core.clock import Clock
from reference_server.edge.errors import error_response

BODY_LIMIT = 1024  # INPUT-2: bytes of a request body
HEADER_LIMIT = 4096  # INPUT-2: bytes of the request line and header fields


def header_section_size(scope: Scope) -> int:
    """Bytes of the request line and header fields as sent (CRLFs included)."""
    line = len(scope["method"]) + len(scope.get("raw_path") or b"") + 12
    if scope.get("query_string"):
        line += len(scope["query_string"]) + 1
    return line + sum(len(k) + len(v) + 4 for k, v in scope["headers"]) + 2


class ResponseHeaders:
    """Outermost: every response, even one from an error handler, gets Date and no-store."""

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"date", b"cache-control")
                ]
                date = email.utils.formatdate(self.clock.now(), usegmt=True)
                headers.append((b"date", date.encode("ascii")))
                headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Framing:
    """INPUT-8 (RFC 9112): what the HTTP parser (h11) lets through but the protocol refuses. A
    request with both Content-Length and Transfer-Encoding (§6.1: its framing is ambiguous) and an
    HTTP version other than 1.0/1.1 (h11 takes any digit.digit) answer 400 and close the
    connection, so nothing sent after them on it is served; so does a control character in a
    header value (h11 refuses NUL, CR and LF itself; RFC 9110 §5.5 lets it keep the others)."""

    VERSIONS = ("1.0", "1.1")
    CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            names = {name for name, _ in scope["headers"]}
            smuggling = b"content-length" in names and b"transfer-encoding" in names
            control = any(self.CONTROL.search(value) for _, value in scope["headers"])
            if smuggling or control or scope.get("http_version") not in self.VERSIONS:
                response = error_response("invalid_request", headers={"Connection": "close"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class InputLimits:
    """431 for a header section over the limit (when it arrived whole), 413 for a body over the
    limit by Content-Length or by counting a streamed body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if header_section_size(scope) > HEADER_LIMIT:
            response = error_response(
                "request_header_fields_too_large", headers={"Connection": "close"}
            )
            await response(scope, receive, send)
            return
        limit = BODY_LIMIT
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await error_response("payload_too_large", headers={"Connection": "close"})(
                    scope, receive, send
                )
                return
        # Bodies are at most `limit` bytes, so reading them whole here is cheap and lets the
        # endpoint see a complete body or none at all.
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await error_response("payload_too_large", headers={"Connection": "close"})(
                    scope, receive, send
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
