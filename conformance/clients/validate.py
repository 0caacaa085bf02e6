"""Is a client's request one the spec allows? openapi-core judges it against spec/openapi.yaml,
plus the two wire details the spec's schema language cannot say (DECISIONS.md: `Bearer`, one space).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from conformance.requirements import SPEC_PATH

SPEC = SPEC_PATH  # package data when installed (conformance.requirements.spec_file)
#: A server URL the spec lists: requests are judged by path, not by where they were sent.
SPEC_SERVER = "http://127.0.0.1:8000"
BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] [A-Za-z0-9\-._~+/]+=*$")
NEEDS_BEARER = {("GET", "/api/dashboard"), ("POST", "/api/auth/logout")}


@dataclass
class _Request:
    """The shape openapi-core reads (openapi_core.protocols.Request)."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    header_list: list[tuple[str, str]]
    host_url: str = SPEC_SERVER
    parameters: RequestParameters = field(init=False)

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(),
            header=Headers(self.header_list),
            cookie=ImmutableMultiDict(),
        )


@functools.cache
def _spec() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC))


def request_problems(
    method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
) -> list[str]:
    """What is wrong with a request, in one sentence each (empty: the spec allows it)."""
    problems: list[str] = []
    if query:
        problems.append(f"{method} {path}: a query string ({len(query)} characters) nobody reads")
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    request = _Request(method.lower(), path, body or None, content_type.lower(), headers)
    result = _spec().unmarshal_request(request)
    for error in result.errors:
        problems.append(f"{method} {path}: {_describe(error)}")
    if (method, path) in NEEDS_BEARER:
        values = [v for k, v in headers if k.lower() == "authorization"]
        if len(values) != 1 or not BEARER.match(values[0]):
            shown = values[0].split(" ", 1)[0] if values else "none"
            problems.append(
                f"{method} {path}: Authorization must be `Bearer <token>` with one space "
                f"(RFC 6750 §2.1); the scheme sent was {shown!r}"
            )
    return problems


def _describe(error: Exception) -> str:
    """The error without the values it was about: a body holds passwords, codes and tokens."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        return "the body does not match the spec's schema: " + "; ".join(
            _schema_error(e) for e in schema_errors
        )
    name = type(error).__name__
    if "deserialize" in str(error).lower():
        return f"{name}: the body is not valid JSON"
    if "mimetype" in str(error).lower():
        return _short(str(error))
    if name.startswith("Security"):
        return "no `Authorization: Bearer <token>` header the spec's bearerAuth accepts"
    # Anything else is named only: its text may quote what the client sent.
    return name


def _schema_error(error: Any) -> str:
    where = "/".join(str(p) for p in error.path) or "(body)"
    if error.validator == "required":
        return f"{where}: {error.message}"  # names the missing key, never a value
    if error.validator in ("oneOf", "anyOf") and error.context:
        return (
            f"{where}: matches none of the allowed forms ("
            + ", ".join(sorted({_schema_error(e) for e in error.context}))
            + ")"
        )
    return f"{where}: fails `{error.validator}`"


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
