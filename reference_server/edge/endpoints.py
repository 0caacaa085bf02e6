"""Plain endpoint functions: parse the request, ask the Authenticator, map its result to HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reference_server.auth import (
    Authenticator,
    ChallengeIssued,
    Dashboard,
    Locked,
    LoggedOut,
    Refused,
    Result,
    SessionIssued,
)
from reference_server.edge.errors import busy_response, error_response, locked_response
from reference_server.hashing import Busy, HashingPool

CODE = re.compile(r"[0-9]{6}")  # TOTP-5: exactly 6 ASCII digits; anything else is malformed
REALM = "tfa"


class BadRequest(Exception):
    """The body is not what the endpoint accepts: 400 (or 415), nothing changes."""

    def __init__(self, code: str = "invalid_request") -> None:
        super().__init__(code)
        self.code = code


def _auth(request: Request) -> Authenticator:
    return request.app.state.auth


def _source(request: Request) -> str | None:
    return request.client.host if request.client else None


async def json_object(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise BadRequest("unsupported_media_type")
    body = await request.body()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest from exc
    if not isinstance(data, dict):
        raise BadRequest
    return data


def text_field(
    data: dict[str, Any], name: str, min_len: int, max_len: int, *, stored: bool = False
) -> str:
    """A string field within its length bounds. `stored` fields (username, password) must also
    be valid UTF-8; a lone surrogate (from a \\ud800 escape) elsewhere is just a wrong token."""
    value = data.get(name)
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise BadRequest
    if stored:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest from exc
    return value


def bad_request(request: Request, exc: BadRequest, event: str, username: object = None) -> Response:
    """400/415, logged as an invalid request (LOG-1: every login and verify outcome)."""
    name = username if isinstance(username, str) else None
    _auth(request).audit.record(event, name, _source(request), "invalid_request")
    return error_response(exc.code)


def respond(request: Request, result: Result) -> Response:
    if isinstance(result, Locked):
        return locked_response(result.retry_after)
    if isinstance(result, Refused):
        headers = None
        if result.error == "invalid_token":
            headers = {"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'}
        return error_response(result.error, headers=headers)
    if isinstance(result, ChallengeIssued):
        return JSONResponse(
            {
                "status": "2fa_required",
                "challenge_token": result.challenge_token,
                "expires_in": result.expires_in,
            }
        )
    if isinstance(result, SessionIssued):
        return JSONResponse(
            {
                "status": "success",
                "session_token": result.session_token,
                "token_type": "Bearer",
                "expires_in": result.expires_in,
            }
        )
    if isinstance(result, Dashboard):
        auth = _auth(request)
        return JSONResponse(
            {
                "status": "success",
                "user": {"username": result.username},
                "session": {"issued_at": result.issued_at, "expires_at": result.expires_at},
                "server": {"time": int(auth.clock.now()), "profile": auth.profile},
            }
        )
    if isinstance(result, LoggedOut):
        return Response(status_code=204)
    raise TypeError(f"no HTTP form for {result!r}")


async def info(request: Request) -> Response:
    return JSONResponse(_auth(request).info())


async def login(request: Request) -> Response:
    data: dict[str, Any] = {}
    try:
        data = await json_object(request)
        username = text_field(data, "username", 1, 64, stored=True)
        password = text_field(data, "password", 1, 256, stored=True)
    except BadRequest as exc:
        return bad_request(request, exc, "login", data.get("username"))
    auth, source = _auth(request), _source(request)
    hashing: HashingPool = request.app.state.hashing
    try:
        result = await hashing.run(auth.login, username, password, source)
    except Busy as busy:
        auth.audit.record("login", username, source, "busy")
        return busy_response(busy.retry_after)
    return respond(request, result)


async def verify(request: Request) -> Response:
    auth = _auth(request)
    code: str | None
    try:
        data = await json_object(request)
        token = text_field(data, "challenge_token", 1, 128)
        has_code, has_backup = "totp_code" in data, "backup_code" in data
        if has_code == has_backup:
            raise BadRequest
        if has_backup:
            backup = text_field(data, "backup_code", 1, 32)
            code = None
        else:
            code, backup = data["totp_code"], None
            if not isinstance(code, str) or not CODE.fullmatch(code):
                raise BadRequest  # not a failure: nothing is counted (TOTP-5)
    except BadRequest as exc:
        return bad_request(request, exc, "verify")
    result = await run_in_threadpool(
        lambda: auth.verify(token, totp_code=code, backup_code=backup, source=_source(request))
    )
    return respond(request, result)


def bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>`; "" when the header is Bearer but malformed;
    None when there is no Bearer credential at all (missing_token)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    if not token or " " in token or len(token) > 256:
        return ""
    return token


def missing_token(request: Request) -> Response:
    return error_response("missing_token", headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})


async def dashboard(request: Request) -> Response:
    token = bearer_token(request)
    if token is None:
        return missing_token(request)
    if not token:
        return respond(request, Refused("invalid_token"))
    return respond(request, await run_in_threadpool(_auth(request).dashboard, token))


async def logout(request: Request) -> Response:
    token = bearer_token(request)
    if token is None:
        return missing_token(request)
    if not token:
        return respond(request, Refused("invalid_token"))
    result = await run_in_threadpool(_auth(request).logout, token, _source(request))
    return respond(request, result)
