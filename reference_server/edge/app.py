"""The ASGI app: explicit routing table, JSON errors for everything, cross-cutting middleware."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from reference_server.auth import Authenticator
from reference_server.core.clock import Clock
from reference_server.edge import endpoints
from reference_server.edge.errors import error_response
from reference_server.edge.middleware import Framing, InputLimits, ResponseHeaders
from reference_server.edge.options import EdgeOptions
from reference_server.hashing import HashingPool

ROUTES = [
    Route("/api/info", endpoints.info, methods=["GET"]),
    Route("/api/auth/login", endpoints.login, methods=["POST"]),
    Route("/api/auth/verify", endpoints.verify, methods=["POST"]),
    Route("/api/dashboard", endpoints.dashboard, methods=["GET"]),
    Route("/api/auth/logout", endpoints.logout, methods=["POST"]),
]

HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_ERRORS.get(exc.status_code, "invalid_request")
    return error_response(code, headers=dict(exc.headers or {}), status=exc.status_code)


async def internal_error(request: Request, exc: Exception) -> Response:
    return error_response("internal_error")


def build_app(
    auth: Authenticator,
    clock: Clock,
    options: EdgeOptions | None = None,
    hashing: HashingPool | None = None,
) -> ASGIApp:
    """`hashing` runs the logins (INPUT-6); its owner shuts it down."""
    options = options or EdgeOptions()
    app = Starlette(
        routes=ROUTES,
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.router.redirect_slashes = False  # "/api/info/" is an unknown path: 404, not a 307
    app.state.auth = auth
    app.state.options = options
    app.state.hashing = hashing or HashingPool()
    return ResponseHeaders(Framing(InputLimits(app, options)), clock, options)
