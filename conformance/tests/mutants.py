"""Mutants: the reference server with exactly one rule broken each, and the requirement that must
catch it.

Each mutant is built here, from the reference server's public pieces, the way a third party would
break a copy of it: a policy subclass or another instance (core/), an Authenticator subclass that
wraps `login`/`verify`, an endpoint wrapped in the routing table, an ASGI layer left out or added
around the app, an EmbeddedServer subclass. Nothing in reference_server/ has a switch for them.
Each runs with `--only` the requirement it breaks (and a neighbour or two), so the whole set stays
within a minute or two.
"""

from __future__ import annotations

import email.utils
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_server.auth import Authenticator, ChallengeIssued, Locked, Refused
from reference_server.core.challenge import Challenge, ChallengePolicy
from reference_server.core.clock import Clock
from reference_server.core.lockout import Lockout
from reference_server.core.passwords import LIGHT, Passwords
from reference_server.core.session import Session, SessionPolicy
from reference_server.core.tokens import TokenSource, token_digest
from reference_server.core.totp import TotpPolicy
from reference_server.edge.app import ROUTES, build_app, protocol_app
from reference_server.edge.errors import error_response
from reference_server.edge.middleware import Framing, InputLimits, ResponseHeaders
from reference_server.embedded import EmbeddedServer
from reference_server.hashing import HashingPool

Endpoint = Callable[[Request], Awaitable[Response]]


# --- policies (core/) ---------------------------------------------------------------------
class ReplayingTotp(TotpPolicy):
    """Forgets the last accepted step: a code is good again within its window (TOTP-4)."""

    def verify(self, key: bytes, code: str, t: float, last_step: int | None) -> int | None:
        return super().verify(key, code, t, None)


class ReusableChallenges(ChallengePolicy):
    def is_usable(self, challenge: Challenge | None, now: float) -> bool:
        return challenge is not None and now < challenge.issued_at + self.ttl_s


class EternalChallenges(ChallengePolicy):
    """Never expire; `ttl_s` is still advertised."""

    def is_usable(self, challenge: Challenge | None, now: float) -> bool:
        return challenge is not None and not challenge.used


class EternalSessions(SessionPolicy):
    def is_valid(self, session: Session | None, now: float) -> bool:
        return session is not None and not session.revoked


class UnrevokedSessions(SessionPolicy):
    """Logout marks the session revoked, and nothing looks at the mark."""

    def is_valid(self, session: Session | None, now: float) -> bool:
        return session is not None and now < self.expires_at(session)


class ShortTokens(TokenSource):
    TOKEN_BYTES = 8


# --- the Authenticator, wrapped -----------------------------------------------------------
def _exists(auth: Authenticator, username: str) -> bool:
    with auth.store.transaction() as tx:
        return tx.account(username) is not None


def _challenge_owner(auth: Authenticator, challenge_token: str) -> str | None:
    with auth.store.transaction() as tx:
        challenge = tx.challenge(token_digest(challenge_token))
    return challenge.username if challenge else None


class PasswordResetsCounter(Authenticator):
    def login(self, username: str, password: str, source: str | None) -> Any:
        result = super().login(username, password, source)
        if isinstance(result, ChallengeIssued):
            self.reset_lockout(username)
        return result


class AttemptsExtendLock(Authenticator):
    def login(self, username: str, password: str, source: str | None) -> Any:
        result = super().login(username, password, source)
        if isinstance(result, Locked):
            now = self.clock.now()
            with self.store.transaction() as tx:
                state = tx.throttle(username)
                until = now + self.lockout.lock_duration(max(state.lock_count, 1))
                tx.put_throttle(username, replace(state, locked_until=until), now)
        return result


class CodeFailuresNotCounted(Authenticator):
    def verify(self, challenge_token: str, **kwargs: Any) -> Any:
        owner = _challenge_owner(self, challenge_token)
        before = None
        if owner is not None:
            with self.store.transaction() as tx:
                before = tx.throttle(owner)
        result = super().verify(challenge_token, **kwargs)
        if owner is not None and before is not None and result == Refused("invalid_code"):
            with self.store.transaction() as tx:
                tx.put_throttle(owner, before, self.clock.now())
        return result


class BackupCodesRefused(Authenticator):
    """Judges every backup code as a wrong one (counted as a failure, as a wrong code is)."""

    def verify(self, challenge_token: str, **kwargs: Any) -> Any:
        if kwargs.get("backup_code") is not None:
            kwargs["backup_code"] = "not-a-code-of-this-account"
        return super().verify(challenge_token, **kwargs)


class UnknownNamesNeverLocked(Authenticator):
    def login(self, username: str, password: str, source: str | None) -> Any:
        result = super().login(username, password, source)
        if not _exists(self, username):
            self.reset_lockout(username)
        return result


class NoDummyHash(Passwords):
    """An unknown name answered at once, without the dummy hash that makes it cost what a wrong
    password does."""

    def verify(self, stored: str | None, password: str) -> bool:
        return False if stored is None else super().verify(stored, password)


# --- the edge, recomposed -----------------------------------------------------------------
def _with_endpoint(path: str, wrap: Callable[[Endpoint], Endpoint]) -> Callable[..., ASGIApp]:
    """`build_app` with the endpoint of `path` wrapped."""
    routes = [
        Route(r.path, wrap(r.endpoint) if r.path == path else r.endpoint, methods=r.methods)
        for r in ROUTES
    ]

    def app(auth: Authenticator, clock: Clock, hashing: HashingPool) -> ASGIApp:
        return ResponseHeaders(Framing(InputLimits(protocol_app(auth, routes, hashing))), clock)

    return app


def _body(data: bytes) -> dict[str, Any]:
    try:
        found = json.loads(data)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def tells_unknown_names(login: Endpoint) -> Endpoint:
    async def telling(request: Request) -> Response:
        response = await login(request)
        name = _body(await request.body()).get("username")
        auth = request.app.state.auth
        if response.status_code == 401 and isinstance(name, str) and not _exists(auth, name):
            body = {"status": "error", "error": "unknown_user", "message": "No such user."}
            return JSONResponse(body, status_code=401)
        return response

    return telling


def bad_json_is_500(endpoint: Endpoint) -> Endpoint:
    async def crashing(request: Request) -> Response:
        try:
            json.loads(await request.body())
        except ValueError:
            return error_response("internal_error")
        return await endpoint(request)

    return crashing


def counts_malformed_codes(verify: Endpoint) -> Endpoint:
    async def counting(request: Request) -> Response:
        response = await verify(request)
        data = _body(await request.body())
        code, token = data.get("totp_code"), data.get("challenge_token")
        if response.status_code == 400 and isinstance(code, str) and isinstance(token, str):
            _count_failure(request.app.state.auth, token)
        return response

    return counting


def _count_failure(auth: Authenticator, challenge_token: str) -> None:
    owner = _challenge_owner(auth, challenge_token)
    if owner is None:
        return
    now = auth.clock.now()
    with auth.store.transaction() as tx:
        state = auth.lockout.current(tx.throttle(owner), now)
        if not auth.lockout.is_locked(state, now):
            tx.put_throttle(owner, auth.lockout.fail(state, now), now)


def reads_unicode_digits(verify: Endpoint) -> Endpoint:
    """Codes read with `int()`, which takes any Unicode decimal digits ("٠١٢٣٤٥")."""

    async def lenient(request: Request) -> Response:
        data = _body(await request.body())
        code = data.get("totp_code")
        if isinstance(code, str) and len(code) == 6 and code.isdecimal():
            data["totp_code"] = f"{int(code):06d}"
            body = json.dumps(data).encode()

            async def receive() -> Message:
                return {"type": "http.request", "body": body, "more_body": False}

            request = Request(request.scope, receive)
        return await verify(request)

    return lenient


Where = Callable[[Scope, int], bool]  # (request, response status) -> drop the header here?
TOKEN_PATHS = ("/api/auth/login", "/api/auth/verify")


def everywhere(scope: Scope, status: int) -> bool:
    return True


def on_token_responses(scope: Scope, status: int) -> bool:
    return status == 200 and scope["path"] in TOKEN_PATHS


def off_token_responses(scope: Scope, status: int) -> bool:
    return not on_token_responses(scope, status)


def on_lockout_answers(scope: Scope, status: int) -> bool:
    """The 429s (LOCK-2's form); a 503 `busy` keeps its Retry-After (INPUT-6's form)."""
    return status == 429


class WithoutHeader:
    """An ASGI layer that drops one response header (from the responses `where` picks)."""

    def __init__(self, app: ASGIApp, name: bytes, where: Where = everywhere) -> None:
        self.app = app
        self.name = name
        self.where = where

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def dropping(message: Message) -> None:
            if message["type"] == "http.response.start" and self.where(scope, message["status"]):
                headers = [(k, v) for k, v in message["headers"] if k.lower() != self.name]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dropping)


def without_header(name: str, where: Where = everywhere) -> Callable[..., ASGIApp]:
    def app(auth: Authenticator, clock: Clock, hashing: HashingPool) -> ASGIApp:
        return WithoutHeader(build_app(auth, clock, hashing), name.lower().encode(), where)

    return app


class EarlierDateOnErrors:
    """An ASGI layer that dates every error answer a minute before its time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def dating(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                headers = [
                    (k, _a_minute_earlier(v) if k.lower() == b"date" else v)
                    for k, v in message["headers"]
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dating)


def _a_minute_earlier(date: bytes) -> bytes:
    moment = email.utils.parsedate_to_datetime(date.decode()).timestamp() - 60
    return email.utils.formatdate(moment, usegmt=True).encode()


def earlier_date_on_errors(auth: Authenticator, clock: Clock, hashing: HashingPool) -> ASGIApp:
    return EarlierDateOnErrors(build_app(auth, clock, hashing))


def without_body_limit(auth: Authenticator, clock: Clock, hashing: HashingPool) -> ASGIApp:
    return ResponseHeaders(Framing(protocol_app(auth, hashing=hashing)), clock)


# --- the server ---------------------------------------------------------------------------
class LocksLostOnRestart(EmbeddedServer):
    """Lock state kept in memory only: a restart forgets every failure and lock."""

    def restart(self) -> None:
        super().restart()
        for account in self.accounts:
            self.auth.reset_lockout(account.username)


@dataclass(frozen=True)
class Mutant:
    name: str
    fails: str  # the requirement whose case must fail
    server: dict[str, Any] = field(default_factory=dict)  # EmbeddedServer keywords
    also: tuple[str, ...] = ()  # neighbours run alongside
    server_class: type[EmbeddedServer] = EmbeddedServer

    @property
    def selection(self) -> list[str]:
        return sorted({self.fails, *self.also})


def _lockout(**fields: Any) -> dict[str, Any]:
    return {"lockout": functools.partial(Lockout, **fields)}


def _totp(**fields: Any) -> dict[str, Any]:
    return {"totp": functools.partial(TotpPolicy, **fields)}


MUTANTS = [
    Mutant("wider drift window (±2 steps)", "TOTP-3", _totp(skew_steps=2)),
    Mutant("narrower drift window (±0 steps)", "TOTP-2", _totp(skew_steps=0)),
    Mutant("replay allowed", "TOTP-4", {"totp": ReplayingTotp}),
    Mutant("wrong HMAC (SHA256)", "TOTP-1", _totp(algorithm="SHA256"), also=("TOTP-2",)),
    Mutant("no lockout", "LOCK-1", _lockout(max_failures=10**9), also=("LOCK-2",)),
    Mutant("lockout after 6 failures", "LOCK-1", _lockout(max_failures=6)),
    Mutant("TOTP failures not counted", "LOCK-1", {"authenticator": CodeFailuresNotCounted}),
    Mutant(
        "no Retry-After header",
        "LOCK-2",
        {"app": without_header("Retry-After", on_lockout_answers)},
    ),
    Mutant(
        "a right password resets the counter", "LOCK-4", {"authenticator": PasswordResetsCounter}
    ),
    Mutant("lock extended by attempts", "LOCK-3", {"authenticator": AttemptsExtendLock}),
    Mutant("no escalation", "LOCK-7", _lockout(escalation=None)),
    Mutant(
        "enumeration by answer (unknown_user)",
        "LOGIN-3",
        {"app": _with_endpoint("/api/auth/login", tells_unknown_names)},
    ),
    Mutant(
        "enumeration by lockout (unknown never locked)",
        "LOGIN-3",
        {"authenticator": UnknownNamesNeverLocked},
    ),
    Mutant("unknown names answered without a hash", "LOGIN-4", {"passwords": NoDummyHash(**LIGHT)}),
    Mutant("challenge reusable", "CHAL-2", {"challenges": ReusableChallenges}),
    Mutant("challenges never expire", "CHAL-3", {"challenges": EternalChallenges}),
    Mutant("sessions never expire", "SESS-4", {"sessions": EternalSessions}),
    Mutant("logout does not revoke", "SESS-5", {"sessions": UnrevokedSessions}),
    Mutant("no WWW-Authenticate", "SESS-3", {"app": without_header("WWW-Authenticate")}),
    Mutant("backup codes refused", "SESS-6", {"authenticator": BackupCodesRefused}),
    Mutant("short tokens (8 bytes)", "SESS-1", {"tokens": ShortTokens}, also=("CHAL-1",)),
    Mutant("short challenge tokens (8 bytes)", "CHAL-1", {"tokens": ShortTokens}),
    Mutant(
        "500 on bad JSON",
        "INPUT-1",
        {"app": _with_endpoint("/api/auth/login", bad_json_is_500)},
        also=("INPUT-5",),
    ),
    Mutant("no body limit", "INPUT-2", {"app": without_body_limit}),
    Mutant(
        "token responses stored (no Cache-Control)",
        "SESS-1",
        {"app": without_header("Cache-Control", on_token_responses)},
    ),
    Mutant(
        "other responses stored (no Cache-Control)",
        "INFO-4",
        {"app": without_header("Cache-Control", off_token_responses)},
    ),
    Mutant(
        "malformed codes counted",
        "TOTP-5",
        {"app": _with_endpoint("/api/auth/verify", counts_malformed_codes)},
    ),
    Mutant("idle clients never dropped", "INPUT-4", {"idle_timeout": 3600.0}),
    Mutant("error answers dated a minute early", "INFO-3", {"app": earlier_date_on_errors}),
    Mutant(
        "Unicode digits accepted as a code",
        "TOTP-5",
        {"app": _with_endpoint("/api/auth/verify", reads_unicode_digits)},
    ),
    Mutant("lock state lost on restart", "LOCK-6", server_class=LocksLostOnRestart),
]
