"""The protocol's five operations as the suite calls them, through a recording httpx client."""

from __future__ import annotations

import json
import ssl
import time
from typing import Any

import httpx

from conformance.profile import TIMEOUT_S
from conformance.recorder import Recorder
from conformance.timing import LOGIN, timed

# A server may close an idle keep-alive connection whenever it likes (RFC 9112 §9.3), and a request
# sent on one as it closes gets no answer: httpx then raises, and the case would fail a correct
# server (seen: LOCK-3 against a target that closes after 1 s idle). So a connection idle for
# longer than this is not reused: below the idle timeout of any server of this protocol we know (the
# reference server's least is 1 s, the board's 5 s).
KEEPALIVE = httpx.Limits(keepalive_expiry=0.5)

BUSY_RETRIES = 5  # INPUT-6: a 503 `busy` is "try again after Retry-After", never a verdict
BUSY_WAIT_CAP_S = 10.0


def tls_context(verify: str | bool) -> ssl.SSLContext | bool:
    """The SSL context for a profile's `ca_cert` / `verify_tls` (reused: contexts are costly)."""
    if verify is True:
        return True
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=verify)


class Api:
    """One case's view of the target. Every request is recorded for the report."""

    def __init__(
        self,
        base_url: str,
        verify: ssl.SSLContext | bool,
        recorder: Recorder,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.base_url = base_url
        self.tls = verify
        self.recorder = recorder
        self.timeout = timeout  # a request's, handshake included (the profile may raise it)
        self.client = self.new_client()

    def new_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            verify=self.tls,
            timeout=self.timeout,
            limits=KEEPALIVE,
            event_hooks=self.recorder.hooks(),
        )

    def reopen(self, base_url: str) -> None:
        """After a restart the target may listen elsewhere, and old connections are gone."""
        self.client.close()
        self.base_url = base_url
        self.client = self.new_client()

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, path, **kwargs)

    def info(self) -> httpx.Response:
        return self.client.get("/api/info")

    def login(self, username: str, password: str, **extra: Any) -> httpx.Response:
        with timed(LOGIN):
            return self.unless_busy(
                "/api/auth/login", {"username": username, "password": password, **extra}
            )

    def verify(
        self, challenge: str, code: str | None = None, backup_code: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"challenge_token": challenge}
        if code is not None:
            body["totp_code"] = code
        if backup_code is not None:
            body["backup_code"] = backup_code
        return self.unless_busy("/api/auth/verify", body)

    def unless_busy(self, path: str, body: Any) -> httpx.Response:
        """POST, and again after `Retry-After` while the target answers 503 `busy` (INPUT-6:
        nothing was judged). Cases that study the 503 itself use `post_json`."""
        for _ in range(BUSY_RETRIES):
            response = self.post_json(path, body)
            if not is_busy(response):
                return response
            time.sleep(min(retry_after_s(response), BUSY_WAIT_CAP_S))
        return self.post_json(path, body)

    def dashboard(self, token: str | None, scheme: str = "Bearer") -> httpx.Response:
        return self.client.get("/api/dashboard", headers=_auth(token, scheme))

    def logout(self, token: str | None, scheme: str = "Bearer") -> httpx.Response:
        return self.client.post("/api/auth/logout", headers=_auth(token, scheme))

    def post_json(self, path: str, body: Any) -> httpx.Response:
        return self.post_raw(path, json.dumps(body).encode("utf-8"))

    def post_raw(
        self, path: str, content: bytes, content_type: str | None = "application/json"
    ) -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return self.client.post(path, content=content, headers=headers)


def _auth(token: str | None, scheme: str) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"{scheme} {token}"}


def is_busy(response: httpx.Response) -> bool:
    body = body_of(response)
    return response.status_code == 503 and isinstance(body, dict) and body.get("error") == "busy"


def ends_challenge(response: httpx.Response) -> bool:
    """Whether a verify was refused for its challenge (lapsed, spent or unknown)."""
    body = body_of(response)
    return (
        response.status_code == 401
        and isinstance(body, dict)
        and body.get("error") == "invalid_challenge"
    )


def retry_after_s(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else 1.0


def body_of(response: httpx.Response) -> Any:
    """The JSON body, or None when there is none or it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None
