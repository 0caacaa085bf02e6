"""A small server of the protocol that follows spec/DECISIONS.md, for the client's tests.

It is not the reference server: it exists so that the client can be tested before that one
lands and against answers no correct server gives (`misbehave`). It speaks through
httpx.MockTransport in-process and through a tiny ASGI adapter under uvicorn for real sockets.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp


@dataclass
class Account:
    password: str
    secret: str
    failures: int = 0
    locked_until: float = 0.0
    last_step: int = -1


@dataclass
class FakeBoard:
    now: float = 1_800_000_000.0
    lock_s: int = 5
    challenge_ttl_s: int = 5
    session_ttl_s: int = 5
    time_synced: bool = True
    accounts: dict[str, Account] = field(default_factory=dict)
    challenges: dict[str, tuple[str, float]] = field(default_factory=dict)
    sessions: dict[str, tuple[str, float]] = field(default_factory=dict)
    #: Every request received: (method, path, headers, body, server time).
    received: list[tuple[str, str, dict[str, str], bytes, float]] = field(default_factory=list)
    #: Returns a raw answer instead of the correct one when it wants to (tests of bad servers).
    misbehave: Callable[[httpx.Request], httpx.Response | None] | None = None

    def add(self, username: str, password: str, secret: str | None = None) -> Account:
        account = Account(password, secret or pyotp.random_base32())
        self.accounts[username] = account
        return account

    def code(self, username: str, offset_steps: int = 0) -> str:
        return pyotp.TOTP(self.accounts[username].secret).at(int(self.now) + 30 * offset_steps)

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, *_ in self.received]

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append((request.method, request.url.path, headers, body, self.now))
        if self.misbehave is not None:
            answer = self.misbehave(request)
            if answer is not None:
                return answer
        route = {
            ("GET", "/api/info"): self._info,
            ("POST", "/api/auth/login"): self._login,
            ("POST", "/api/auth/verify"): self._verify,
            ("GET", "/api/dashboard"): self._dashboard,
            ("POST", "/api/auth/logout"): self._logout,
        }.get((request.method, request.url.path))
        if route is None:
            return self._error(404, "not_found")
        if request.method == "POST" and request.url.path != "/api/auth/logout":
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                return self._error(415, "unsupported_media_type")
            try:
                data = json.loads(body)
            except ValueError:
                return self._error(400, "invalid_request")
            if not isinstance(data, dict):
                return self._error(400, "invalid_request")
            return route(data, headers)
        return route(None, headers)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The same board as an ASGI app (for uvicorn), one request at a time."""
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = httpx.Request(
            scope["method"],
            "http://board" + scope["path"],
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            content=body,
        )
        response = self.handle(request)
        raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
        ]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": raw_headers}
        )
        await send({"type": "http.response.body", "body": response.content})

    # -- endpoints ----------------------------------------------------------------------------

    def _info(self, _data: Any, _headers: dict[str, str]) -> httpx.Response:
        return self._json(
            200,
            {
                "api_version": "1",
                "server_time": int(self.now),
                "time_synced": self.time_synced,
                "profile": "test",
                "totp": {"algorithm": "SHA1", "digits": 6, "period": 30, "skew_steps": 1},
                "lockout": {"max_failures": 5, "duration_s": self.lock_s},
                "session_ttl_s": self.session_ttl_s,
                "challenge_ttl_s": self.challenge_ttl_s,
            },
        )

    def _login(self, data: dict[str, Any], _headers: dict[str, str]) -> httpx.Response:
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return self._error(400, "invalid_request")
        account = self.accounts.setdefault(username, Account(secrets.token_hex(8), ""))
        if account.locked_until > self.now:
            return self._locked(account)
        if not secrets.compare_digest(password.encode(), account.password.encode()):
            return self._fail(account, "invalid_credentials")
        token = secrets.token_urlsafe(32)
        self.challenges[token] = (username, self.now)
        return self._json(
            200,
            {
                "status": "2fa_required",
                "challenge_token": token,
                "expires_in": self.challenge_ttl_s,
            },
        )

    def _verify(self, data: dict[str, Any], _headers: dict[str, str]) -> httpx.Response:
        token, code = data.get("challenge_token"), data.get("totp_code")
        if not isinstance(token, str) or not isinstance(code, str):
            return self._error(400, "invalid_request")
        if not re.fullmatch(r"[0-9]{6}", code):
            return self._error(400, "invalid_request")
        if not self.time_synced:
            return self._error(503, "clock_not_synced")
        entry = self.challenges.get(token)
        if entry is None or self.now >= entry[1] + self.challenge_ttl_s:
            return self._error(401, "invalid_challenge")
        account = self.accounts[entry[0]]
        if account.locked_until > self.now:
            return self._locked(account)
        step = int(self.now) // 30
        totp = pyotp.TOTP(account.secret)
        matched = [
            s
            for s in (step - 1, step, step + 1)
            if totp.at(s * 30) == code and s > account.last_step
        ]
        if not matched:
            return self._fail(account, "invalid_code")
        del self.challenges[token]
        account.failures, account.last_step = 0, max(matched)
        session = secrets.token_urlsafe(32)
        self.sessions[session] = (entry[0], self.now)
        return self._json(
            200,
            {
                "status": "success",
                "session_token": session,
                "token_type": "Bearer",
                "expires_in": self.session_ttl_s,
            },
        )

    def _dashboard(self, _data: Any, headers: dict[str, str]) -> httpx.Response:
        session = self._session(headers)
        if isinstance(session, httpx.Response):
            return session
        username, issued = session
        return self._json(
            200,
            {
                "status": "success",
                "user": {"username": username},
                "session": {
                    "issued_at": int(issued),
                    "expires_at": int(issued) + self.session_ttl_s,
                },
                "server": {"name": "fake board"},
            },
        )

    def _logout(self, _data: Any, headers: dict[str, str]) -> httpx.Response:
        session = self._session(headers)
        if isinstance(session, httpx.Response):
            return session
        token = headers["authorization"].split(" ", 1)[1]
        del self.sessions[token]
        return httpx.Response(204, headers=self._headers())

    # -- answers ------------------------------------------------------------------------------

    def _session(self, headers: dict[str, str]) -> tuple[str, float] | httpx.Response:
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return self._error(401, "missing_token", {"WWW-Authenticate": 'Bearer realm="tfa"'})
        entry = self.sessions.get(token)
        if entry is None or self.now >= entry[1] + self.session_ttl_s:
            return self._error(
                401,
                "invalid_token",
                {"WWW-Authenticate": 'Bearer realm="tfa", error="invalid_token"'},
            )
        return entry

    def _fail(self, account: Account, error: str) -> httpx.Response:
        account.failures += 1
        if account.failures >= 5:
            account.failures, account.locked_until = 0, self.now + self.lock_s
        return self._error(401, error)

    def _locked(self, account: Account) -> httpx.Response:
        retry_after = max(1, math.ceil(account.locked_until - self.now))
        body = {
            "status": "locked",
            "error": "account_locked",
            "message": "locked",
            "retry_after": retry_after,
        }
        return self._json(429, body, {"Retry-After": str(retry_after)})

    def _error(
        self, status: int, error: str, extra: dict[str, str] | None = None
    ) -> httpx.Response:
        return self._json(status, {"status": "error", "error": error, "message": error}, extra)

    def _json(
        self, status: int, body: dict[str, Any], extra: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {**self._headers(), "Content-Type": "application/json", **(extra or {})}
        return httpx.Response(status, content=json.dumps(body).encode(), headers=headers)

    def _headers(self) -> dict[str, str]:
        return {"Date": email.utils.formatdate(self.now, usegmt=True), "Cache-Control": "no-store"}
