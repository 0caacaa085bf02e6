"""Error bodies and statuses of DECISIONS.md, in one table."""

from __future__ import annotations

from starlette.responses import JSONResponse

STATUS = {
    "invalid_request": 400,
    "invalid_credentials": 401,
    "invalid_code": 401,
    "invalid_challenge": 401,
    "missing_token": 401,
    "invalid_token": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "account_locked": 429,
    "request_header_fields_too_large": 431,
    "clock_not_synced": 503,
    "busy": 503,
    "internal_error": 500,
}

MESSAGES = {
    "invalid_request": "The request body is not what this endpoint accepts.",
    "invalid_credentials": "Wrong username or password.",
    "invalid_code": "Wrong code.",
    "invalid_challenge": "The challenge is unknown, used or expired; log in again.",
    "missing_token": "This needs an Authorization: Bearer token.",
    "invalid_token": "The token is invalid, revoked or expired.",
    "not_found": "No such endpoint.",
    "method_not_allowed": "This endpoint does not accept that method.",
    "payload_too_large": "The request body is over 1024 bytes.",
    "unsupported_media_type": "The body must be application/json.",
    "account_locked": "Too many failures; try again later.",
    "request_header_fields_too_large": "The header section is over 4096 bytes.",
    "clock_not_synced": "The server clock is not synchronized; codes cannot be judged.",
    "busy": "Too many logins at once; try again after Retry-After seconds.",
    "internal_error": "Internal error.",
}


def error_body(code: str) -> dict[str, object]:
    return {"status": "error", "error": code, "message": MESSAGES.get(code, code)}


def error_response(
    code: str, headers: dict[str, str] | None = None, status: int | None = None
) -> JSONResponse:
    status = status or STATUS[code]
    return JSONResponse(error_body(code), status_code=status, headers=headers)


def locked_response(retry_after: int) -> JSONResponse:
    body = {
        "status": "locked",
        "error": "account_locked",
        "message": MESSAGES["account_locked"],
        "retry_after": retry_after,
    }
    return JSONResponse(body, status_code=429, headers={"Retry-After": str(retry_after)})


def busy_response(retry_after: int) -> JSONResponse:
    """INPUT-6: the login was not judged; nothing changed."""
    return error_response("busy", headers={"Retry-After": str(retry_after)})
