"""The ASGI app: explicit routing table, JSON errors for everything, cross-cutting middleware.

`build_app` composes the layers; each is public so that another composition (other routes, a
layer left out or added) is built from the same pieces rather than by switches in them.
"""

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


def protocol_app(
    auth: Authenticator, routes: list[Route] = ROUTES, hashing: HashingPool | None = None
) -> Starlette:
    """The endpoints alone: routing, JSON errors, the Authenticator in `app.state.auth`, the
    pool logins hash in (INPUT-6) in `app.state.hashing`; the pool's owner shuts it down."""
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: internal_error},
    )
    app.router.redirect_slashes = False  # "/api/info/" is an unknown path: 404, not a 307
    app.state.auth = auth
    app.state.hashing = hashing or HashingPool()
    return app


def build_app(auth: Authenticator, clock: Clock, hashing: HashingPool | None = None) -> ASGIApp:
    """What every server serves: framing and input limits inside, Date and no-store on every
    response."""
    return ResponseHeaders(Framing(InputLimits(protocol_app(auth, hashing=hashing))), clock)
