"""Every HTTP exchange of a case, kept so that a failure can show what the target said.

Secrets never reach a report: request and response bodies and headers pass through `Masker`
before they are stored.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from conformance.model import Seen, parse

MASK = "«masked»"
SECRET_FIELDS = frozenset(
    {
        "password",
        "totp_code",
        "backup_code",
        "challenge_token",
        "session_token",
        "totp_secret",
        "secret",
        "token",
        "backup_codes",
    }
)
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
MAX_BODY = 4000
_BEARER = re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_SECRET_JSON = re.compile(
    r"[\"'](" + "|".join(sorted(SECRET_FIELDS)) + r")[\"']\s*:\s*[\"'][^\"']*[\"']"
)


class Masker:
    """Hides secret fields, secret headers and any known secret string (passwords, TOTP secrets)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        merged = set(self.secrets) | {s for s in secrets if s and len(s) >= 4}
        self.secrets = sorted(merged, key=len, reverse=True)

    def text(self, text: str) -> str:
        """Mask known secrets, Bearer credentials and secret JSON fields in free text."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)
        return _SECRET_JSON.sub(lambda m: f'"{m[1]}": "{MASK}"', text)

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        masked = []
        for name, value in headers:
            if name.lower() in SECRET_HEADERS:
                scheme, _, rest = value.partition(" ")
                value = f"{scheme} {MASK}" if rest else MASK
            masked.append((name, self.text(value)))
        return masked

    def body(self, raw: bytes | str) -> str:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            parsed = json.loads(text)
        except ValueError:
            shown = self.text(text)
        else:
            shown = json.dumps(self._json(parsed), ensure_ascii=False)
        if len(shown) > MAX_BODY:
            shown = shown[:MAX_BODY] + f"… ({len(shown)} characters)"
        return shown

    def _json(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (self._hide(v) if str(k).lower() in SECRET_FIELDS else self._json(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._json(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    @staticmethod
    def _hide(value: Any) -> str:
        if isinstance(value, str):
            return f"{MASK} ({len(value)} chars)"
        return MASK


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str = ""
    error: str = ""
    started: float = 0.0
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Recorder:
    """Collects exchanges for one case; plugs into httpx as event hooks. Every exchange also
    goes to the target model (`observe`), stamped with the target's time (`clock`)."""

    def __init__(
        self,
        masker: Masker,
        observe: Callable[[Seen], None] | None = None,
        clock: Callable[[], float] = time.time,
        sending: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.masker = masker
        self.observe = observe
        self.sending = sending  # told of each request before it is sent: (path, JSON body)
        self.clock = clock
        self.exchanges: list[Exchange] = []
        self.raw_responses: list[tuple[list[tuple[str, str]], bytes]] = []
        self._lock = threading.Lock()

    def hooks(self, own_address: bool = True) -> dict[str, list[Any]]:
        """httpx event hooks. A client at another source address (127.0.0.2: INPUT-7, LOCK-8)
        is recorded but not fed to the model, which counts the suite's address (LOCK-8)."""
        on_response = self._on_response if own_address else self._record
        return {"request": [self._on_request], "response": [on_response]}

    def _on_request(self, request: httpx.Request) -> None:
        request.extensions["conformance_started"] = time.monotonic()
        request.extensions["conformance_sent"] = self.clock()
        if self.sending is not None:
            self.sending(request.url.path, parse(_content(request)))

    def _on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        if self.observe is not None:
            sent = request.extensions.get("conformance_sent", self.clock())
            started = request.extensions.get("conformance_started", time.monotonic())
            self.observe(
                Seen(
                    path=request.url.path,
                    request=parse(_content(request)),
                    status=response.status_code,
                    answer=parse(response.content),
                    sent=sent,
                    received=self.clock(),
                    span=(started, time.monotonic()),
                )
            )
        self._record(response)

    def _record(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        started = request.extensions.get("conformance_started", time.monotonic())
        headers = [(k, v) for k, v in response.headers.multi_items()]
        self.add(
            Exchange(
                method=request.method,
                url=str(request.url),
                request_headers=self.masker.headers(request.headers.multi_items()),
                request_body=self.masker.body(_content(request)),
                status=response.status_code,
                response_headers=self.masker.headers(headers),
                response_body=self.masker.body(response.content),
                started=time.time(),
                elapsed=time.monotonic() - started,
            ),
            raw=(headers, response.content),
        )

    def add(
        self, exchange: Exchange, raw: tuple[list[tuple[str, str]], bytes] | None = None
    ) -> None:
        with self._lock:
            self.exchanges.append(exchange)
            if raw is not None:
                self.raw_responses.append(raw)

    def raw(self, method: str, url: str, sent: bytes, received: bytes, error: str = "") -> Exchange:
        """Record a raw-socket exchange (INPUT-2, INPUT-4): what we sent and what came back."""
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n") if received else []
        status = None
        headers: list[tuple[str, str]] = []
        if lines and lines[0].startswith("HTTP/"):
            parts = lines[0].split(" ")
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
        shown_sent = sent if len(sent) <= 600 else sent[:600] + b"..."
        exchange = Exchange(
            method=method,
            url=url,
            request_headers=[],
            request_body=self.masker.body(shown_sent.decode("latin-1")) + f" ({len(sent)} bytes)",
            status=status,
            response_headers=self.masker.headers(headers),
            response_body=self.masker.body(body),
            error=error,
            started=time.time(),
        )
        self.add(exchange, raw=(headers, body))
        return exchange


def _content(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:
        return b"(streamed body)"
