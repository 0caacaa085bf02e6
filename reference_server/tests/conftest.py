"""In-process fixtures: the EmbeddedServer on a FakeClock, and an httpx client (ASGITransport)
whose every response is validated against spec/openapi.yaml."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers

from reference_server.core.passwords import LIGHT, Passwords
from reference_server.embedded import EmbeddedServer

SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
SPEC_HOST = "http://127.0.0.1:8000"  # one of the spec's servers, so openapi-core finds the path
# 10 s into a 30 s step, well clear of step boundaries; past 2038 on purpose (64-bit steps).
START = 2_200_000_010.0
SPEC_PATHS = {
    ("get", "/api/info"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/verify"),
    ("get", "/api/dashboard"),
    ("post", "/api/auth/logout"),
}
ERROR_KEYS = {"status", "error", "message"}
FAST_PASSWORDS = Passwords(**LIGHT)


@functools.cache
def spec() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC))


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    return spec()


class SpecRequest:
    def __init__(self, request: httpx.Request) -> None:
        self.host_url = SPEC_HOST
        self.path = request.url.path
        self.method = request.method.lower()
        try:
            self.body = request.content or None
        except httpx.RequestNotRead:  # a streamed request body
            self.body = None
        self.content_type = request.headers.get("content-type", "application/octet-stream")
        self.parameters = RequestParameters(
            query=dict(request.url.params), header=Headers(list(request.headers.items()))
        )


class SpecResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = response.content
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(list(response.headers.items()))


def check_against_spec(openapi: OpenAPI, response: httpx.Response) -> None:
    """A response the spec does not describe fails the test. 404/405 for paths and methods the
    spec has no operation for are checked against DECISIONS.md's error body by hand."""
    request = response.request
    if (request.method.lower(), request.url.path) in SPEC_PATHS:
        openapi.validate_response(SpecRequest(request), SpecResponse(response))
        return
    assert response.status_code in (404, 405, 413, 431), response.status_code
    body = response.json()
    assert set(body) == ERROR_KEYS and body["status"] == "error"
    assert response.headers["cache-control"] == "no-store"
    assert "date" in response.headers
    if response.status_code == 405:
        assert response.headers["allow"]


def _check_hook(response: httpx.Response) -> None:
    response.read()
    check_against_spec(spec(), response)


def checked_client(**kwargs: Any) -> httpx.Client:
    """An httpx.Client for real sockets whose every answer is checked against the spec."""
    return httpx.Client(event_hooks={"response": [_check_hook]}, **kwargs)


def checked_get(url: str, **kwargs: Any) -> httpx.Response:
    with checked_client(verify=kwargs.pop("verify", True), timeout=20) as c:
        return c.get(url, **kwargs)


def checked_post(url: str, **kwargs: Any) -> httpx.Response:
    with checked_client(verify=kwargs.pop("verify", True), timeout=20) as c:
        return c.post(url, **kwargs)


class Client:
    """A synchronous face on httpx.AsyncClient + ASGITransport, checking every answer."""

    def __init__(self, app: Any, openapi: OpenAPI, source: str = "192.0.2.10") -> None:
        self.loop = asyncio.new_event_loop()
        self.openapi = openapi
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(source, 40000)), base_url=SPEC_HOST
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.loop.run_until_complete(self.http.request(method, url, **kwargs))
        check_against_spec(self.openapi, response)
        return response

    def unchecked(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """For mutants only: an answer that breaks the spec on purpose."""
        return self.loop.run_until_complete(self.http.request(method, url, **kwargs))

    def concurrently(self, calls: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
        async def all_at_once() -> list[httpx.Response]:
            return await asyncio.gather(*(self.http.request(m, u, **kw) for m, u, kw in calls))

        responses = self.loop.run_until_complete(all_at_once())
        for response in responses:
            check_against_spec(self.openapi, response)
        return responses

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def raw_post(self, url: str, body: bytes, content_type: str = "application/json"):
        return self.post(url, content=body, headers={"content-type": content_type})

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


@pytest.fixture
def make_server() -> Iterator[Any]:
    servers: list[EmbeddedServer] = []

    def make(**kwargs: Any) -> EmbeddedServer:
        kwargs.setdefault("profile", "production")
        kwargs.setdefault("accounts", 3)
        kwargs.setdefault("clock", None)
        # production durations, but a light argon2 cost: hundreds of logins stay fast
        kwargs.setdefault("passwords", FAST_PASSWORDS)
        server = EmbeddedServer(**kwargs)
        if kwargs["clock"] is None:
            server.clock.set(START)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def server(make_server: Any) -> EmbeddedServer:
    """The production profile (300/3600/120 s) on a FakeClock: durations cost nothing."""
    return make_server()


@pytest.fixture
def client(server: EmbeddedServer, openapi: OpenAPI) -> Iterator[Client]:
    c = Client(server.app, openapi)
    yield c
    c.close()


@pytest.fixture
def make_client(openapi: OpenAPI) -> Iterator[Any]:
    clients: list[Client] = []

    def make(server: EmbeddedServer, source: str = "192.0.2.10") -> Client:
        c = Client(server.app, openapi, source)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


# protocol steps used by many tests


def code_for(server: EmbeddedServer, account_index: int = 0, offset_steps: int = 0) -> str:
    account = server.accounts[account_index]
    return pyotp.TOTP(account.totp_secret).at(server.clock.now() + 30 * offset_steps)


def login(client: Client, server: EmbeddedServer, index: int = 0, password: str | None = None):
    account = server.accounts[index]
    return client.post(
        "/api/auth/login",
        json={"username": account.username, "password": password or account.password},
    )


def challenge(client: Client, server: EmbeddedServer, index: int = 0) -> str:
    response = login(client, server, index)
    assert response.status_code == 200, response.text
    return response.json()["challenge_token"]


def verify(client: Client, token: str, code: str) -> httpx.Response:
    return client.post("/api/auth/verify", json={"challenge_token": token, "totp_code": code})


def session_token(client: Client, server: EmbeddedServer, index: int = 0) -> str:
    response = verify(client, challenge(client, server, index), code_for(server, index))
    assert response.status_code == 200, response.text
    return response.json()["session_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def body(response: httpx.Response) -> dict[str, Any]:
    return json.loads(response.content)
