"""Which requirement a part of an answer belongs to, read from the spec: so that a Schemathesis
finding is reported under the rule it breaks, not under the case that happened to find it.

- A response header: the ID that starts its component's description (`Date` INFO-3,
  `Cache-Control` INFO-4, or SESS-1 on a token response, `Retry-After` LOCK-2, ...).
- A 2xx body: the first ID of the response's `x-requirements` (login LOGIN-1, verify SESS-1, ...).
- An error body, a body that is not JSON or not of the declared type: INFO-4 (the response form).
- A refused valid request or an answer with an undocumented status: the operation's first ID;
  an accepted invalid request, or any 5xx to one: INPUT-1.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import yaml

from conformance.requirements import SPEC_PATH

RESPONSE_FORM = "INFO-4"
BAD_INPUT = "INPUT-1"
_LEADING_ID = re.compile(r"^\s*([A-Z]+-[0-9]+)\b")


@functools.cache
def _spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    found: Any = _spec()
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return _resolve(found)


@dataclass(frozen=True)
class Answer:
    """One operation's documented response for a status code (None when undocumented)."""

    operation: dict[str, Any]
    response: dict[str, Any] | None

    @classmethod
    def of(cls, label: str, status: int) -> Answer | None:
        method, _, path = label.partition(" ")
        operation = _spec().get("paths", {}).get(path, {}).get(method.lower())
        if operation is None:
            return None
        responses = operation.get("responses", {})
        response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        return cls(operation, _resolve(response) if response else None)

    @property
    def operation_id(self) -> str:
        ids = self.operation.get("x-requirements") or [BAD_INPUT]
        return str(ids[0])

    def body_id(self, status: int) -> str:
        if status >= 400 or self.response is None:
            return RESPONSE_FORM
        ids = self.response.get("x-requirements") or [self.operation_id]
        return str(ids[0])

    def property_id(self, instance_path: Any) -> str | None:
        """The requirement a body field's own description names (`challenge_token`: CHAL-1),
        for a schema violation found at `instance_path` inside that field."""
        path = list(instance_path or [])
        if self.response is None or not path:
            return None
        content = (self.response.get("content") or {}).get("application/json") or {}
        schema = _resolve(content.get("schema") or {})
        field = (schema.get("properties") or {}).get(str(path[0]))
        match = _LEADING_ID.match(str(_resolve(field).get("description", ""))) if field else None
        return match.group(1) if match else None

    def headers(self) -> dict[str, dict[str, Any]]:
        if self.response is None:
            return {}
        return {name: _resolve(h) for name, h in (self.response.get("headers") or {}).items()}

    def broken_headers(self, present: dict[str, str]) -> dict[str, str]:
        """Header name -> the ID it breaks, for each documented header missing or not matching
        its schema's pattern in `present` (names compared case-insensitively)."""
        given = {k.lower(): v for k, v in present.items()}
        broken: dict[str, str] = {}
        for name, header in self.headers().items():
            value = given.get(name.lower())
            pattern = (header.get("schema") or {}).get("pattern")
            missing = value is None and header.get("required", False)
            wrong = value is not None and pattern is not None and not re.search(pattern, value)
            if missing or wrong:
                broken[name] = header_id(header)
        return broken


def header_id(header: dict[str, Any]) -> str:
    match = _LEADING_ID.match(str(header.get("description", "")))
    return match.group(1) if match else RESPONSE_FORM
