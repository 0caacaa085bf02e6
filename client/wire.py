"""The shapes of the server's answers (spec/openapi.yaml, spec/DECISIONS.md), checked on arrival.

A small declarative checker rather than a JSON-schema engine: the client must run where only
httpx and pyotp are installed, and an answer that breaks the spec must become a ProtocolError
that says which key was wrong. `client/tests/test_wire.py` keeps these shapes in step with the spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from client.errors import ProtocolError

#: No answer of this protocol comes near this; a larger one is refused, not buffered.
MAX_BODY_BYTES = 64 * 1024


class Check:
    def check(self, value: Any, where: str) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Const(Check):
    expected: Any

    def check(self, value: Any, where: str) -> None:
        if type(value) is not type(self.expected) or value != self.expected:
            raise ProtocolError(f"{where} must be {self.expected!r}, got {_brief(value)}")


@dataclass(frozen=True)
class OneOf(Check):
    choices: tuple[str, ...]

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, str) or value not in self.choices:
            raise ProtocolError(f"{where} must be one of {list(self.choices)}, got {_brief(value)}")


@dataclass(frozen=True)
class Str(Check):
    min_length: int = 0
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            raise ProtocolError(f"{where} must be a string, got {_brief(value)}")
        if len(value) < self.min_length or (
            self.max_length is not None and len(value) > self.max_length
        ):
            raise ProtocolError(f"{where} has a length outside the spec's bounds ({len(value)})")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            # The value is not shown: it may be a token.
            raise ProtocolError(f"{where} has characters it may not have")


@dataclass(frozen=True)
class Int(Check):
    minimum: int | None = None

    def check(self, value: Any, where: str) -> None:
        # JSON true is not an integer here, although Python's bool is one.
        if type(value) is not int:
            raise ProtocolError(f"{where} must be an integer, got {_brief(value)}")
        if self.minimum is not None and value < self.minimum:
            raise ProtocolError(f"{where} must be >= {self.minimum}, got {value}")


@dataclass(frozen=True)
class Bool(Check):
    def check(self, value: Any, where: str) -> None:
        if type(value) is not bool:
            raise ProtocolError(f"{where} must be a boolean, got {_brief(value)}")


@dataclass(frozen=True)
class AnyObject(Check):
    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ProtocolError(f"{where} must be an object, got {_brief(value)}")


@dataclass(frozen=True)
class Shape(Check):
    """A JSON object: `required` keys, `optional` keys, and whether others are allowed."""

    required: Mapping[str, Check]
    optional: Mapping[str, Check] = field(default_factory=dict)
    closed: bool = False

    def check(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ProtocolError(f"{where} must be a JSON object, got {_brief(value)}")
        missing = [key for key in self.required if key not in value]
        if missing:
            raise ProtocolError(f"{where} lacks {', '.join(missing)}")
        if self.closed:
            extra = sorted(k for k in value if k not in self.required and k not in self.optional)
            if extra:
                raise ProtocolError(f"{where} has keys the spec does not allow: {extra}")
        for key, check in {**self.required, **self.optional}.items():
            if key in value:
                check.check(value[key], f"{where}.{key}")


#: Servers of this project issue 43-character tokens; the spec allows 22..128.
TOKEN = Str(min_length=22, max_length=128)
#: A session token travels as `Authorization: Bearer <token>`: RFC 6750 §2.1's b64token.
BEARER_TOKEN = Str(min_length=22, max_length=128, pattern=re.compile(r"[A-Za-z0-9\-._~+/]+=*"))

CHALLENGE_ISSUED = Shape(
    {"status": Const("2fa_required"), "challenge_token": TOKEN, "expires_in": Int(minimum=1)},
    closed=True,
)
SESSION_ISSUED = Shape(
    {
        "status": Const("success"),
        "session_token": BEARER_TOKEN,
        "token_type": Const("Bearer"),
        "expires_in": Int(minimum=1),
    },
    closed=True,
)
ERROR = Shape({"status": Const("error"), "error": Str(), "message": Str()}, closed=True)
LOCKED = Shape(
    {
        "status": Const("locked"),
        "error": Const("account_locked"),
        "message": Str(),
        "retry_after": Int(minimum=1),
    },
    closed=True,
)
DASHBOARD = Shape(
    {
        "status": Const("success"),
        "user": Shape({"username": Str()}),
        "session": Shape({"issued_at": Int(), "expires_at": Int()}),
    },
    optional={"server": AnyObject()},
)
INFO = Shape(
    {
        "api_version": Const("1"),
        "server_time": Int(),
        "time_synced": Bool(),
        "profile": OneOf(("production", "test")),
        "totp": Shape(
            {
                "algorithm": Const("SHA1"),
                "digits": Const(6),
                "period": Const(30),
                "skew_steps": Const(1),
            },
            closed=True,
        ),
        "lockout": Shape(
            {"max_failures": Const(5), "duration_s": Int(minimum=1)},
            optional={"escalation": OneOf(("double",))},
        ),
        "session_ttl_s": Int(minimum=1),
        "challenge_ttl_s": Int(minimum=1),
    },
    optional={
        "server": AnyObject(),
        "throttle": Shape({"max_failures": Int(minimum=1), "window_s": Int(minimum=1)}),
    },
)


def json_object(content_type: str | None, body: bytes, where: str) -> dict[str, Any]:
    """The body as a JSON object, or ProtocolError if it is not `application/json` holding one."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        got = content_type or "nothing"
        raise ProtocolError(f"{where}: expected application/json, got {got!r}")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"{where}: the body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise ProtocolError(f"{where}: the body is not a JSON object")
    return value


def _brief(value: Any) -> str:
    text = json.dumps(value, default=repr) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
