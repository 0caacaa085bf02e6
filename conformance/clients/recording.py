"""The recording mode: an ASGI layer in front of the server that keeps every exchange with the
client under test, judges each request against the spec, and lets a scenario step in (move the
server's clock after an answer, or answer something malformed instead of the server)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.clients.validate import request_problems
from conformance.recorder import Exchange, Masker

MAX_REQUEST_BYTES = 1 << 20


@dataclass
class Record:
    """One exchange as the server saw it."""

    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    problems: list[str] = field(default_factory=list)
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    replaced: bool = False  # the scenario answered instead of the server

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def request_json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def exchange(self, masker: Masker, started: float) -> dict[str, Any]:
        """The report's form of this exchange, secrets masked."""
        url = self.path + (f"?{self.query}" if self.query else "")
        by = "the scenario" if self.replaced else "the server"
        notes = [f"arrived {self.at - started:+.2f} s after the client started; answered by {by}"]
        notes += self.problems
        return Exchange(
            method=self.method,
            url=url,
            request_headers=masker.headers(self.headers),
            request_body=masker.body(self.body),
            status=self.status,
            response_headers=masker.headers(self.response_headers),
            response_body=masker.body(self.response_body),
            error="; ".join(notes),
            started=self.at - started,
        ).to_dict()


Answer = tuple[int, list[tuple[str, str]], bytes]


class RecordingApp:
    """ASGI middleware: record, validate, and optionally replace answers or react to them."""

    def __init__(
        self,
        app: Any,
        replace: Callable[[Record], Answer | None] | None = None,
        after: Callable[[Record], None] | None = None,
    ) -> None:
        self.app = app
        self.replace = replace
        self.after = after
        self.records: list[Record] = []
        self.recording = True
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body")) and len(body) <= MAX_REQUEST_BYTES
        record = Record(
            at=time.monotonic(),
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=body,
        )
        record.problems = request_problems(
            record.method, record.path, record.query, record.headers, record.body
        )
        if self.recording:
            with self._lock:
                self.records.append(record)

        answer = self.replace(record) if self.replace is not None else None
        if answer is not None:
            record.replaced = True
            record.status, record.response_headers, record.response_body = answer
            messages = [
                {
                    "type": "http.response.start",
                    "status": answer[0],
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer[1]],
                },
                {"type": "http.response.body", "body": answer[2]},
            ]
        else:
            messages = await self._forward(scope, body, record, receive)
        # The scenario reacts before the client sees the answer (e.g. the clock moves past a
        # challenge's expiry), so that the client's next request meets the new state.
        if self.after is not None and self.recording:
            self.after(record)
        for message in messages:
            await send(message)

    async def _forward(
        self, scope: dict[str, Any], body: bytes, record: Record, receive: Any
    ) -> list[dict[str, Any]]:
        """The server's answer, held back whole so that `after` runs before it is sent."""
        delivered = False

        async def replay() -> dict[str, Any]:
            # The body once, as read; after it, what the connection really says (disconnect).
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        messages: list[dict[str, Any]] = []

        async def capture(message: dict[str, Any]) -> None:
            messages.append(message)

        await self.app(scope, replay, capture)
        for message in messages:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                record.response_headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                record.response_body += message.get("body", b"")
        return messages
