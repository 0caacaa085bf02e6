"""A small, deliberately plain server of the protocol, to prove the suite before and beside the
reference server: correct by default, and with `Rules` to break exactly one rule at a time.

It is the suite's own test double, not a product: one process, state in dicts, a movable clock.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import math
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Any

import pyotp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Rules:
    """Each field is one rule of CONTRACT.md; a mutant changes exactly one."""

    skew_steps: int = 1
    replay_check: bool = True
    lockout: bool = True
    max_failures: int = 5
    count_totp_failures: bool = True
    retry_after_header: bool = True
    password_resets_counter: bool = False
    unknown_user_status: int = 401
    lock_unknown_users: bool = True
    challenge_single_use: bool = True
    challenge_expires: bool = True
    session_expires: bool = True
    logout_revokes: bool = True
    www_authenticate: bool = True
    token_bytes: int = 32
    hmac_digest: str = "sha1"
    crash_on_bad_json: bool = False
    body_limit: int | None = 1024
    count_malformed_codes: bool = False
    no_store: bool = True
    attempts_extend_lock: bool = False
    escalation: bool = True
    lock_survives_restart: bool = True
    accept_unicode_digits: bool = False


@dataclass
class FakeClock:
    now: float = field(default_factory=lambda: float(int(time.time())))

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class AccountState:
    password: str
    secret: str
    failures: int = 0
    locks: int = 0
    locked_until: float = 0.0
    last_step: int = -1


class ProtocolError(Exception):
    def __init__(self, status: int, code: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.code, self.headers = status, code, headers or {}


class FakeServer:
    def __init__(
        self,
        rules: Rules | None = None,
        accounts: int = 8,
        durations: tuple[int, int, int] = (300, 3600, 120),
        profile: str = "production",
    ) -> None:
        self.rules = rules or Rules()
        self.clock = FakeClock()
        self.profile = profile
        self.lock_s, self.session_ttl, self.challenge_ttl = durations
        self.accounts: dict[str, AccountState] = {}
        self.backup_codes: dict[str, set[str]] = {}
        self.users: list[dict[str, Any]] = []
        for i in range(accounts):
            secret = base64.b32encode(secrets.token_bytes(20)).decode()
            password = secrets.token_urlsafe(12)
            self.accounts[f"conformance-{i + 1}"] = AccountState(password, secret)
            backup = [secrets.token_hex(5) for _ in range(2)]
            self.backup_codes[f"conformance-{i + 1}"] = set(backup)
            self.users.append(
                {
                    "username": f"conformance-{i + 1}",
                    "password": password,
                    "totp_secret": secret,
                    "backup_codes": backup,
                }
            )
        self.ghosts: dict[str, AccountState] = {}
        self.challenges: dict[str, tuple[str, float]] = {}
        self.sessions: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()
        self.app = self._app()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- protocol ---------------------------------------------------------------------
    def _token(self) -> str:
        return secrets.token_urlsafe(self.rules.token_bytes)

    def _lock_length(self, account: AccountState) -> float:
        if self.rules.escalation:
            return min(self.lock_s * 2 ** (account.locks - 1), 86400)
        return self.lock_s

    def _check_lock(self, account: AccountState) -> None:
        now = self.clock.now
        if self.rules.lockout and now < account.locked_until:
            if self.rules.attempts_extend_lock:
                account.locked_until = now + self._lock_length(account)
            retry = max(1, math.ceil(account.locked_until - now))
            raise ProtocolError(429, "account_locked", {"retry_after": str(retry)})
        if account.locked_until and now >= account.locked_until:
            account.locked_until = 0.0
            account.failures = 0

    def _fail(self, account: AccountState) -> None:
        account.failures += 1
        if account.failures >= self.rules.max_failures:
            account.locks += 1
            account.failures = 0
            account.locked_until = self.clock.now + self._lock_length(account)

    def login(self, body: dict[str, Any]) -> dict[str, Any]:
        username, password = body.get("username"), body.get("password")
        if not (isinstance(username, str) and isinstance(password, str)):
            raise ProtocolError(400, "invalid_request")
        if not (1 <= len(username) <= 64 and 1 <= len(password) <= 256):
            raise ProtocolError(400, "invalid_request")
        with self.lock:
            account = self.accounts.get(username)
            if account is None:
                account = self.ghosts.setdefault(username, AccountState("", ""))
                if self.rules.lock_unknown_users:
                    self._check_lock(account)
                self._fail(account)
                raise ProtocolError(self.rules.unknown_user_status, "invalid_credentials")
            self._check_lock(account)
            if not hmac.compare_digest(account.password.encode(), password.encode()):
                self._fail(account)
                raise ProtocolError(401, "invalid_credentials")
            if self.rules.password_resets_counter:
                account.failures = 0
            token = self._token()
            self.challenges[token] = (username, self.clock.now)
        return {
            "status": "2fa_required",
            "challenge_token": token,
            "expires_in": self.challenge_ttl,
        }

    def verify(self, body: dict[str, Any]) -> dict[str, Any]:
        challenge = body.get("challenge_token")
        code, backup = body.get("totp_code"), body.get("backup_code")
        if not isinstance(challenge, str) or not 1 <= len(challenge) <= 128:
            raise ProtocolError(400, "invalid_request")
        if (code is None) == (backup is None):
            raise ProtocolError(400, "invalid_request")
        if backup is not None:
            return self._verify_backup(challenge, backup)
        well_formed = isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()
        lenient = self.rules.accept_unicode_digits and isinstance(code, str) and code.isdigit()
        with self.lock:
            if not (well_formed or lenient):
                entry = self.challenges.get(challenge)
                if self.rules.count_malformed_codes and entry:
                    self._fail(self.accounts[entry[0]])
                raise ProtocolError(400, "invalid_request")
            if lenient:
                code = str(int(code))
            entry = self.challenges.get(challenge)
            if entry is None:
                raise ProtocolError(401, "invalid_challenge")
            username, issued = entry
            if self.rules.challenge_expires and self.clock.now >= issued + self.challenge_ttl:
                raise ProtocolError(401, "invalid_challenge")
            account = self.accounts[username]
            self._check_lock(account)
            step = int(self.clock.now // 30)
            digest = {"sha1": "sha1", "sha256": "sha256"}[self.rules.hmac_digest]
            totp = pyotp.TOTP(account.secret, digest=digest)
            matched = None
            for s in range(step - self.rules.skew_steps, step + self.rules.skew_steps + 1):
                if hmac.compare_digest(totp.generate_otp(s), code) and (
                    not self.rules.replay_check or s > account.last_step
                ):
                    matched = s
            if matched is None:
                if self.rules.count_totp_failures:
                    self._fail(account)
                raise ProtocolError(401, "invalid_code")
            account.last_step = max(account.last_step, matched)
            return self._issue(challenge, username, account)

    def _verify_backup(self, challenge: str, backup: Any) -> dict[str, Any]:
        if not isinstance(backup, str) or not 1 <= len(backup) <= 32:
            raise ProtocolError(400, "invalid_request")
        with self.lock:
            entry = self.challenges.get(challenge)
            if entry is None or self.clock.now >= entry[1] + self.challenge_ttl:
                raise ProtocolError(401, "invalid_challenge")
            username = entry[0]
            account = self.accounts[username]
            self._check_lock(account)
            codes = self.backup_codes[username]
            if backup not in codes:
                self._fail(account)
                raise ProtocolError(401, "invalid_code")
            codes.discard(backup)
            return self._issue(challenge, username, account)

    def _issue(self, challenge: str, username: str, account: AccountState) -> dict[str, Any]:
        account.failures = 0
        account.locks = 0
        if self.rules.challenge_single_use:
            del self.challenges[challenge]
        token = self._token()
        self.sessions[token] = (username, self.clock.now)
        return {
            "status": "success",
            "session_token": token,
            "token_type": "Bearer",
            "expires_in": self.session_ttl,
        }

    def session_of(self, request: Request) -> tuple[str, str, float]:
        header = request.headers.get("authorization")
        scheme, _, token = (header or "").partition(" ")
        if header is None or scheme.lower() != "bearer":
            raise ProtocolError(401, "missing_token", {"www": 'Bearer realm="tfa"'})
        entry = self.sessions.get(token)
        expired = (
            entry is not None
            and self.rules.session_expires
            and (self.clock.now >= entry[1] + self.session_ttl)
        )
        if entry is None or expired:
            raise ProtocolError(
                401, "invalid_token", {"www": 'Bearer realm="tfa", error="invalid_token"'}
            )
        return token, entry[0], entry[1]

    # --- HTTP edge --------------------------------------------------------------------
    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Date": formatdate(self.clock.now, usegmt=True)}
        if self.rules.no_store:
            headers["Cache-Control"] = "no-store"
        return {**headers, **(extra or {})}

    def _error(self, exc: ProtocolError) -> Response:
        extra = {}
        body: dict[str, Any] = {"status": "error", "error": exc.code, "message": exc.code}
        if exc.code == "account_locked":
            body = {**body, "status": "locked", "retry_after": int(exc.headers["retry_after"])}
            if self.rules.retry_after_header:
                extra["Retry-After"] = exc.headers["retry_after"]
        if "www" in exc.headers and self.rules.www_authenticate:
            extra["WWW-Authenticate"] = exc.headers["www"]
        if "allow" in exc.headers:
            extra["Allow"] = exc.headers["allow"]
        return JSONResponse(body, exc.status, headers=self._headers(extra))

    async def _json_body(self, request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        limit = self.rules.body_limit
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if limit is not None and len(raw) > limit:
                raise ProtocolError(413, "payload_too_large")
        if content_type != "application/json":
            raise ProtocolError(415, "unsupported_media_type")
        try:
            body = json.loads(raw)
        except ValueError:
            if self.rules.crash_on_bad_json:
                raise RuntimeError("bad json") from None
            raise ProtocolError(400, "invalid_request") from None
        if not isinstance(body, dict):
            raise ProtocolError(400, "invalid_request")
        return body

    def _app(self) -> Starlette:
        async def info(request: Request) -> Response:
            lockout: dict[str, Any] = {"max_failures": 5, "duration_s": self.lock_s}
            if self.rules.escalation:
                lockout["escalation"] = "double"
            body = {
                "api_version": "1",
                "server_time": int(self.clock.now),
                "time_synced": True,
                "profile": self.profile,
                "totp": {"algorithm": "SHA1", "digits": 6, "period": 30, "skew_steps": 1},
                "lockout": lockout,
                "session_ttl_s": self.session_ttl,
                "challenge_ttl_s": self.challenge_ttl,
            }
            return JSONResponse(body, headers=self._headers())

        async def login(request: Request) -> Response:
            return JSONResponse(self.login(await self._json_body(request)), headers=self._headers())

        async def verify(request: Request) -> Response:
            return JSONResponse(
                self.verify(await self._json_body(request)), headers=self._headers()
            )

        async def dashboard(request: Request) -> Response:
            _, username, issued = self.session_of(request)
            body = {
                "status": "success",
                "user": {"username": username},
                "session": {"issued_at": int(issued), "expires_at": int(issued) + self.session_ttl},
                "server": {"name": "fake"},
            }
            return JSONResponse(body, headers=self._headers())

        async def logout(request: Request) -> Response:
            token, _, _ = self.session_of(request)
            if self.rules.logout_revokes:
                self.sessions.pop(token, None)
            return Response(status_code=204, headers=self._headers())

        routes = {
            "/api/info": ("GET", info),
            "/api/auth/login": ("POST", login),
            "/api/auth/verify": ("POST", verify),
            "/api/dashboard": ("GET", dashboard),
            "/api/auth/logout": ("POST", logout),
        }

        async def dispatch(request: Request) -> Response:
            try:
                size = sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
                if size > 4096:
                    raise ProtocolError(431, "request_header_fields_too_large")
                route = routes.get(request.url.path)
                if route is None:
                    raise ProtocolError(404, "not_found")
                method, endpoint = route
                if request.method != method:
                    raise ProtocolError(405, "method_not_allowed", {"allow": method})
                return await endpoint(request)
            except ProtocolError as exc:
                return self._error(exc)

        methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
        return Starlette(
            routes=[Route("/{path:path}", dispatch, methods=methods)],
        )

    # --- running ----------------------------------------------------------------------
    def start(self, cert: str | None = None, key: str | None = None) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ssl_certfile=cert,
            ssl_keyfile=key,
            date_header=False,
            server_header=False,
            h11_max_incomplete_event_size=4096,
            timeout_keep_alive=2,
            timeout_graceful_shutdown=0.2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        scheme = "https" if cert else "http"
        self._cert, self._key = cert, key
        return f"{scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                assert self._thread is not None
                self._thread.join(timeout=5)
        self._server = None

    def restart(self) -> str:
        """Stop and start again; state lives in memory, so it survives unless the rule says not."""
        self.stop()
        if not self.rules.lock_survives_restart:
            for account in self.accounts.values():
                account.failures, account.locked_until, account.last_step = 0, 0.0, -1
        return self.start(self._cert, self._key)

    def target_profile(self, base_url: str) -> dict[str, Any]:
        return {"base_url": base_url, "verify_tls": False, "accounts": self.users, "name": "fake"}

    def mutated(self, **changes: Any) -> FakeServer:
        return FakeServer(replace(self.rules, **changes))
