"""AuthClient: the protocol's four steps over httpx, every answer checked against the spec."""

from __future__ import annotations

import json
import ssl
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from client import totp, wire
from client.clock import (
    ClockSkewWarning,
    offset_from_date,
    offset_from_server_time,
    skew_warning,
)
from client.errors import (
    AccountLocked,
    ChallengeExpired,
    ClientError,
    ClockNotSynced,
    InvalidCode,
    InvalidCredentials,
    NetworkError,
    ProtocolError,
    ServerBusy,
    SessionExpired,
    TLSError,
)
from client.lockout import LockoutGate
from client.models import Challenge, ServerInfo, Session

DEFAULT_TIMEOUT = httpx.Timeout(10.0)
#: DECISIONS.md: a request body over 1024 bytes answers 413.
MAX_REQUEST_BYTES = 1024

# (status, error code) -> the exception a refusal becomes, per operation.
Refusals = Mapping[tuple[int, str], Callable[[str], ClientError]]

_LOGIN_REFUSALS: Refusals = {
    (401, "invalid_credentials"): InvalidCredentials,
}
_VERIFY_REFUSALS: Refusals = {
    (401, "invalid_code"): InvalidCode,
    (401, "invalid_challenge"): ChallengeExpired,
    (503, "clock_not_synced"): ClockNotSynced,
}
# SESS-6 is a SHOULD: a server without backup codes refuses the field as a malformed body.
_BACKUP_REFUSALS: Refusals = {
    **_VERIFY_REFUSALS,
    (400, "invalid_request"): lambda _m: InvalidCode("the server does not accept backup codes"),
}
_SESSION_REFUSALS: Refusals = {
    (401, "invalid_token"): SessionExpired,
}


def _answer(response: httpx.Response, body: bytes, shape: wire.Check, where: str) -> dict[str, Any]:
    """The body as the JSON object `shape` describes, or ProtocolError saying what is wrong."""
    data = wire.json_object(response.headers.get("content-type"), body, where)
    shape.check(data, where)
    return data


class AuthClient:
    """A client of one server (a board, the reference server, any conforming server).

    Trust: `ca_cert` (a PEM file, e.g. the board's self-signed certificate), or `pin_sha256`
    (the SHA-256 of the board's leaf certificate), or the system store. `verify=False` switches
    verification off, and only that does. Environment proxies are ignored: they would bypass
    the pinned transport.
    """

    def __init__(
        self,
        base_url: str,
        ca_cert: str | None = None,
        verify: bool = True,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        pin_sha256: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"the server URL must be http(s)://host[:port], got {base_url!r}")
        if url.scheme == "http" and (ca_cert is not None or pin_sha256 is not None):
            raise ValueError("a CA file or a pinned certificate needs an https:// server URL")
        if transport is None:
            from client.tls import build_transport

            transport = build_transport(ca_cert, verify, pin_sha256)
        self._http = httpx.Client(
            base_url=url,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"Accept": "application/json", "User-Agent": "pico-tfa-client/1"},
        )
        self._clock = clock
        self._monotonic = monotonic
        self._gate = LockoutGate(monotonic)
        #: Server minus local time (s), from the last `info()`; None until measured.
        self.clock_offset: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AuthClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the protocol ------------------------------------------------------------------------

    def info(self) -> ServerInfo:
        """INFO-1: the server's policy; measures the clock offset and warns if it is large."""
        timing: dict[str, float] = {"sent_at": self._clock()}
        response, body = self._exchange("GET", "/api/info", timing=timing)
        received_at = timing.get("headers_at", self._clock())
        sent_at = timing["sent_at"]
        if response.status_code != 200:
            raise ProtocolError(f"info: expected 200, got {response.status_code}")
        data = _answer(response, body, wire.INFO, "info")
        offset = offset_from_server_time(data["server_time"], sent_at, received_at)
        self.clock_offset = offset
        message = skew_warning(offset)
        if message:
            warnings.warn(message, ClockSkewWarning, stacklevel=2)
        return ServerInfo(
            api_version=data["api_version"],
            server_time=data["server_time"],
            time_synced=data["time_synced"],
            profile=data["profile"],
            totp=data["totp"],
            lockout=data["lockout"],
            session_ttl_s=data["session_ttl_s"],
            challenge_ttl_s=data["challenge_ttl_s"],
            clock_offset=offset,
            date_offset=offset_from_date(response.headers.get("date"), sent_at, received_at),
            server=data.get("server"),
            raw=data,
        )

    def login(self, username: str, password: str) -> Challenge:
        """LOGIN-1: the first factor. Raises InvalidCredentials or AccountLocked."""
        if not 1 <= len(username) <= 64:
            raise ValueError("the username must be 1 to 64 characters")
        if not 1 <= len(password) <= 256:
            raise ValueError("the password must be 1 to 256 characters")
        self._gate.check(username)
        payload = {"username": username, "password": password}
        response, body = self._exchange("POST", "/api/auth/login", payload=payload)
        if response.status_code == 200:
            data = _answer(response, body, wire.CHALLENGE_ISSUED, "login")
            return Challenge(
                token=data["challenge_token"],
                username=username,
                expires_in=data["expires_in"],
                received_at=self._monotonic(),
            )
        raise self._refusal("login", response, body, _LOGIN_REFUSALS, username)

    def verify(
        self,
        challenge: Challenge,
        totp_code: str | None = None,
        backup_code: str | None = None,
    ) -> Session:
        """The second factor: exactly one of a TOTP code or a backup code (SESS-6)."""
        if (totp_code is None) == (backup_code is None):
            raise ValueError("give exactly one of totp_code and backup_code")
        if totp_code is not None:
            totp_code = totp_code.strip()
            if not totp.is_code(totp_code):
                raise ValueError("a TOTP code is exactly 6 digits")
            payload = {"challenge_token": challenge.token, "totp_code": totp_code}
        else:
            assert backup_code is not None
            backup_code = backup_code.strip()
            if not 1 <= len(backup_code) <= 32:
                raise ValueError("a backup code is 1 to 32 characters")
            payload = {"challenge_token": challenge.token, "backup_code": backup_code}
        self._gate.check(challenge.username)
        response, body = self._exchange("POST", "/api/auth/verify", payload=payload)
        if response.status_code == 200:
            data = _answer(response, body, wire.SESSION_ISSUED, "verify")
            return Session(
                token=data["session_token"],
                username=challenge.username,
                token_type=data["token_type"],
                expires_in=data["expires_in"],
                received_at=self._monotonic(),
            )
        refusals = _VERIFY_REFUSALS if backup_code is None else _BACKUP_REFUSALS
        raise self._refusal("verify", response, body, refusals, challenge.username)

    def dashboard(self, session: Session) -> dict[str, Any]:
        """SESS-2: what the session opens. Raises SessionExpired once the token is invalid."""
        response, body = self._exchange("GET", "/api/dashboard", session=session)
        if response.status_code == 200:
            data = _answer(response, body, wire.DASHBOARD, "dashboard")
            return data
        raise self._refusal("dashboard", response, body, _SESSION_REFUSALS, None)

    def logout(self, session: Session) -> None:
        """SESS-5: revoke the token. Raises SessionExpired if it was already invalid."""
        response, body = self._exchange("POST", "/api/auth/logout", session=session)
        if response.status_code == 204:
            return
        raise self._refusal("logout", response, body, _SESSION_REFUSALS, None)

    def authenticate(
        self,
        username: str,
        password: str,
        totp_code: str | None = None,
        totp_secret: str | None = None,
        code_provider: Callable[[], str] | None = None,
    ) -> Session:
        """Login and verify in one call, with exactly one source of the code.

        `totp_secret` computes the code at the server's time (measured first through `info()`);
        `code_provider` is asked only after the password was accepted (e.g. a prompt).
        A lockout is raised as AccountLocked with the seconds remaining: nothing is retried.
        """
        if sum(x is not None for x in (totp_code, totp_secret, code_provider)) != 1:
            raise ValueError("give exactly one of totp_code, totp_secret and code_provider")
        if totp_secret is not None:
            totp.check_secret(totp_secret)
        if totp_code is not None and not totp.is_code(totp_code.strip()):
            raise ValueError("a TOTP code is exactly 6 digits")
        self._gate.check(username)
        if totp_secret is not None and self.clock_offset is None:
            self.info()
        challenge = self.login(username, password)
        if totp_secret is not None:
            code = totp.code_at(totp_secret, self.server_now())
        elif code_provider is not None:
            code = code_provider()
        else:
            assert totp_code is not None
            code = totp_code
        return self.verify(challenge, totp_code=code)

    def server_now(self) -> float:
        """The server's time as best known here (local time plus the measured offset)."""
        return self._clock() + (self.clock_offset or 0.0)

    def locked_for(self, username: str) -> int:
        """Seconds this client will still refuse to send authentication requests for `username`."""
        return self._gate.remaining(username)

    # -- plumbing ----------------------------------------------------------------------------

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        payload: dict[str, str] | None = None,
        session: Session | None = None,
        timing: dict[str, float] | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """One request; `timing` gets when the request left and its answer's head arrived
        (after any TLS handshake, which on a board can take a second and would skew an
        offset measured around the whole call)."""
        headers: dict[str, str] = {}
        content: bytes | None = None
        if payload is not None:
            content = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            if len(content) > MAX_REQUEST_BYTES:
                raise ValueError("the request would exceed the server's 1024-byte body limit")
            headers["Content-Type"] = "application/json"
        if session is not None:
            headers["Authorization"] = session.authorization
        try:
            extensions = {"trace": _tracer(self._clock, timing)} if timing is not None else {}
            request = self._http.build_request(
                method, path, content=content, headers=headers, extensions=extensions
            )
            response = self._http.send(request, stream=True)
            try:
                body = _read_capped(response)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        return response, body

    def _refusal(
        self,
        operation: str,
        response: httpx.Response,
        body: bytes,
        refusals: Refusals,
        username: str | None,
    ) -> ClientError:
        """The exception for a non-success answer, or ProtocolError if the spec forbids it."""
        status = response.status_code
        if status == 429 and username is not None:
            data = _answer(response, body, wire.LOCKED, operation)
            if _retry_after(response, operation) != data["retry_after"]:
                raise ProtocolError(f"{operation}: Retry-After differs from retry_after")
            self._gate.hold(username, data["retry_after"])
            return AccountLocked(data["retry_after"])
        if 400 <= status < 600 and status != 429:
            data = _answer(response, body, wire.ERROR, operation)
            if (status, data["error"]) == (503, "busy"):
                return ServerBusy(_retry_after(response, operation))
            make = refusals.get((status, data["error"]))
            if make is not None:
                return make(_MESSAGES.get(data["error"], data["error"]))
            return ProtocolError(f"{operation}: unexpected {status} {data['error']!r}")
        return ProtocolError(f"{operation}: unexpected status {status}")


def _retry_after(response: httpx.Response, operation: str) -> int:
    """The integer `Retry-After` that a 429 or a 503 `busy` must carry."""
    header = response.headers.get("retry-after")
    if header is None or not header.isascii() or not header.isdigit():
        raise ProtocolError(
            f"{operation}: a {response.status_code} needs an integer Retry-After header"
        )
    return int(header)


_MESSAGES = {
    "invalid_credentials": "wrong username or password",
    "invalid_code": "wrong or already used code",
    "invalid_challenge": "the login challenge expired or was already used: log in again",
    "invalid_token": "the session expired or was revoked: log in again",
    "clock_not_synced": "the server's clock is not synchronised yet: try again shortly",
}


def _tracer(clock: Callable[[], float], timing: dict[str, float]) -> Callable[[str, Any], None]:
    """An httpcore trace hook that notes when the request was sent and the answer began."""

    def trace(event: str, info: Any) -> None:
        if event.endswith("send_request_headers.started"):
            timing["sent_at"] = clock()
        elif event.endswith("receive_response_headers.complete"):
            timing["headers_at"] = clock()

    return trace


def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > wire.MAX_BODY_BYTES:
            raise ProtocolError(f"the answer is larger than {wire.MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _transport_error(exc: httpx.HTTPError) -> ClientError:
    """httpx's failure as this client's: TLS, network, or a server that spoke no HTTP."""
    if _caused_by_tls(exc):
        return TLSError(f"TLS failed: {_tls_reason(exc)}")
    if isinstance(exc, httpx.RemoteProtocolError):
        # Also a server that hangs up mid-answer or without one: h11 cannot tell that apart
        # from garbage without a blank line, and neither is what a server of the spec does.
        return ProtocolError(f"the server's answer is not valid HTTP: {exc}")
    if isinstance(exc, httpx.DecodingError):
        return ProtocolError(f"the server's answer could not be decoded: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError("the server did not answer in time")
    if isinstance(exc, httpx.TransportError):
        return NetworkError(f"cannot reach the server: {exc}")
    return ProtocolError(f"unexpected HTTP failure: {exc}")


def _causes(exc: BaseException):
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _caused_by_tls(exc: BaseException) -> bool:
    return any(isinstance(e, ssl.SSLError) for e in _causes(exc))


# OpenSSL's reasons when the first bytes back are not a TLS record (a plain HTTP answer)
NOT_TLS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"}


def _tls_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or str(cause)
        if isinstance(cause, ssl.SSLError):
            if cause.reason in NOT_TLS:
                return "the server answered without TLS: a plain HTTP server? then use http://"
            return cause.reason or str(cause)
    return str(exc)
