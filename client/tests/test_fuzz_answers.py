"""Whatever a server answers, the client returns a checked result or raises a ClientError:
never a KeyError, TypeError or any other crash (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client import AuthClient, ClientError
from client.models import Challenge, ServerInfo, Session

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    ["status", "error", "message", "retry_after", "challenge_token", "session_token",
     "token_type", "expires_in", "user", "session", "api_version", "server_time"]
)  # fmt: skip
plausible = st.dictionaries(keys, json_values, max_size=8)
bodies = st.one_of(
    plausible.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=60),
)
statuses = st.sampled_from([200, 201, 204, 301, 400, 401, 404, 413, 415, 429, 500, 503])
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/html", None]
)
printable = st.characters(min_codepoint=32, max_codepoint=126)
retry_after = st.one_of(st.none(), st.text(printable, max_size=6), st.integers(0, 99).map(str))

TOKEN = "t" * 43
CHALLENGE = Challenge(token=TOKEN, username="alice", expires_in=5, received_at=0.0)
SESSION = Session(
    token=TOKEN,
    username="alice",
    token_type="Bearer",  # noqa: S106
    expires_in=5,
    received_at=0.0,
)

OPERATIONS = {
    "info": lambda c: c.info(),
    "login": lambda c: c.login("alice", "pw"),
    "verify": lambda c: c.verify(CHALLENGE, totp_code="123456"),
    "backup": lambda c: c.verify(CHALLENGE, backup_code="abc-def"),
    "dashboard": lambda c: c.dashboard(SESSION),
    "logout": lambda c: c.logout(SESSION),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    operation=st.sampled_from(sorted(OPERATIONS)),
    status=statuses,
    body=bodies,
    content_type=content_types,
    retry=retry_after,
)
def test_any_answer_is_a_result_or_a_client_error(
    operation: str, status: int, body: bytes, content_type: str | None, retry: str | None
) -> None:
    headers: dict[str, Any] = {}
    if content_type:
        headers["Content-Type"] = content_type
    if retry is not None:
        headers["Retry-After"] = retry

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers)

    with AuthClient("https://board.test", transport=httpx.MockTransport(handler)) as auth:
        try:
            result = OPERATIONS[operation](auth)
        except ClientError:
            return
    # Anything that got through is what the spec promises.
    assert status in (200, 204)
    expected = {"info": ServerInfo, "login": Challenge, "verify": Session, "backup": Session}
    if operation in expected:
        assert isinstance(result, expected[operation])
    elif operation == "dashboard":
        assert isinstance(result["user"]["username"], str)
    else:
        assert result is None and status == 204
