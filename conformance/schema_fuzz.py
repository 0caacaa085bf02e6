"""Schemathesis against a live target: positive, negative and stateful (OpenAPI links) runs.

Bounded in time (few examples per operation). Accounts come from the suite's pool, so the
stateful run signs in for real and the pool still knows each account's state afterwards.
Each finding names the requirement of the rule it breaks (governing.py), whichever case found it.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import AcceptedNegativeData, Failure, ServerError
from schemathesis.errors import FailureGroup
from schemathesis.openapi.checks import (
    AllowHeaderMismatch,
    IgnoredAuth,
    MissingHeaderNotRejected,
    MissingHeaders,
    RejectedPositiveData,
    UndefinedStatusCode,
    UnsupportedMethodResponse,
)

from conformance import oracle
from conformance.accounts import Account
from conformance.governing import BAD_INPUT, Answer
from conformance.model import Seen, parse
from conformance.requirements import SPEC_PATH, spec_file
from conformance.session import Conformance
from conformance.timing import SCHEMATHESIS, timed

CONFIG_PATH = spec_file("schemathesis.toml")
MAX_EXAMPLES = 5
STATEFUL_EXAMPLES = 4
STATEFUL_STEPS = 5
BEARER_OPERATIONS = ("GET /api/dashboard", "POST /api/auth/logout")


@functools.cache
def load_schema() -> Any:
    """Parsed once per process: the positive, negative and stateful runs share it."""
    config = SchemathesisConfig.from_path(CONFIG_PATH)
    return schemathesis.openapi.from_path(Path(SPEC_PATH), config=config)


def _settings(examples: int, **extra: Any) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        **extra,
    )


def _requests_verify(session: Conformance) -> str | bool:
    return session.target.profile.verify


@dataclass(frozen=True)
class Finding:
    """A rule broken in one answer: `req_id` None when no rule could be named (an exception)."""

    req_id: str | None
    text: str


def run_operations(session: Conformance, mode: GenerationMode, token: str) -> list[Finding]:
    """Every operation with `mode` data; returns what each answer broke (empty when conformant)."""
    with timed(SCHEMATHESIS):
        return _run_operations(session, mode, token)


def _run_operations(session: Conformance, mode: GenerationMode, token: str) -> list[Finding]:
    schema = load_schema()
    findings: list[Finding] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        bearer = operation.label in BEARER_OPERATIONS
        headers = {"Authorization": f"Bearer {token}"} if bearer else None
        check = _operation_test(session, operation, mode, headers, findings)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check()
        except Unsatisfiable:
            continue  # nothing to negate (GET /api/info has no input)
        except Exception as exc:  # noqa: BLE001 - a request that could not be made at all
            findings.append(Finding(None, f"{operation.label} ({mode.value}): {exc}"))
    return list(dict.fromkeys(findings))


def _operation_test(
    session: Conformance,
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str] | None,
    findings: list[Finding],
) -> Callable[[], None]:
    base_url, verify = session.target.base_url, _requests_verify(session)
    # the profile's timeout, as for the suite's own requests (a board: 60 s); the checks that
    # send again (and the reproduction text) get the same
    sent = {
        "base_url": base_url,
        "headers": headers,
        "verify": verify,
        "timeout": session.target.profile.timeout_s,
    }

    @given(case=operation.as_strategy(generation_mode=mode))
    @_settings(MAX_EXAMPLES)
    def check(case: Any) -> None:
        at, started = session.now, time.monotonic()
        response = case.call(**sent)
        _observe(session, response, at, started)
        try:
            case.validate_response(response, headers=headers, transport_kwargs=sent)
        except FailureGroup as group:
            for failure in group.exceptions:
                findings.extend(attribute(failure, case, response, mode))

    return check


def attribute(failure: Failure, case: Any, response: Any, mode: GenerationMode) -> list[Finding]:
    """The requirement(s) a Schemathesis failure breaks, each with the answer that showed it."""
    label, status = case.operation.label, response.status_code
    answer = Answer.of(label, status)
    what = f"{label} ({mode.value}) -> {status}: {failure.title}"
    detail = f"{what}\n{failure.message}\n{case.as_curl_command()}"
    negative = mode == GenerationMode.NEGATIVE
    if answer is None:
        return [Finding(None, detail)]
    if isinstance(failure, MissingHeaders) or "header" in failure.title.lower():
        given = {k: v[0] if isinstance(v, list) else v for k, v in response.headers.items()}
        broken = answer.broken_headers(given)
        if broken:
            return [Finding(req, f"{what}: {name}\n{detail}") for name, req in broken.items()]
    if isinstance(failure, AcceptedNegativeData | MissingHeaderNotRejected):
        return [Finding(BAD_INPUT, detail)]
    if isinstance(failure, ServerError | UndefinedStatusCode):
        return [Finding(BAD_INPUT if negative else answer.operation_id, detail)]
    if isinstance(failure, RejectedPositiveData):
        return [Finding(answer.operation_id, detail)]
    if isinstance(failure, UnsupportedMethodResponse | AllowHeaderMismatch):
        return [Finding("INPUT-3", detail)]
    if isinstance(failure, IgnoredAuth):
        return [Finding("SESS-3", detail)]
    if "response_schema_conformance" in failure.checks or "content_type_conformance" in (
        failure.checks
    ):
        field_id = answer.property_id(getattr(failure, "instance_path", None))
        return [Finding(field_id or answer.body_id(status), detail)]
    return [Finding(None, detail)]


def _observe(session: Conformance, response: Any, at: float, started: float) -> None:
    """The model learns from these exchanges as from every other (model.py): a generated login
    with a wrong password is a failure of the suite's address too (LOCK-8)."""
    request = response.request
    session.model.observe(
        Seen(
            path=urlsplit(request.url).path,
            request=parse(request.body),
            status=response.status_code,
            answer=parse(response.content),
            sent=at,
            received=session.now,
            span=(started, time.monotonic()),
        )
    )


def run_stateful(session: Conformance, account: Account) -> list[Finding]:
    """Follow the spec's links (login -> verify -> dashboard/logout) with a real account;
    returns what each answer broke (empty when conformant)."""
    schema = load_schema()
    base_url, verify = session.target.base_url, _requests_verify(session)
    timeout = session.target.profile.timeout_s
    sent: dict[int, tuple[float, float]] = {}  # target time and local monotonic time
    findings: list[Finding] = []

    class Links(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            sent[id(case)] = (session.now, time.monotonic())
            label = case.operation.label
            if label == "POST /api/auth/login":
                case.body = {"username": account.username, "password": account.password}
            elif label == "POST /api/auth/verify" and _wants_code(case.body):
                step = _usable_step(session, account)
                if step is not None:
                    case.body["totp_code"] = oracle.code_at_step(account.secret, step)

        def after_call(self, response: Any, case: Any) -> None:
            _observe(session, response, *sent.pop(id(case), (session.now, time.monotonic())))

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            # the profile's timeout, as for the suite's own requests (a board: 60 s)
            return {"base_url": base_url, "verify": verify, "timeout": timeout}

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, *args, **kwargs)
            except FailureGroup as group:
                meta = case.meta
                mode = meta.generation.mode if meta is not None else GenerationMode.POSITIVE
                for failure in group.exceptions:
                    findings.extend(attribute(failure, case, response, mode))

    with warnings.catch_warnings(), timed(SCHEMATHESIS):
        warnings.simplefilter("ignore")
        Links.run(settings=_settings(STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS))
    return list(dict.fromkeys(findings))


def _wants_code(body: Any) -> bool:
    return isinstance(body, dict) and "totp_code" in body


def _usable_step(session: Conformance, account: Account) -> int | None:
    """A step the target must accept now without waiting, or None."""
    t = session.now
    position = t % oracle.PERIOD
    if position < 2 or position > oracle.PERIOD - 2:
        return None
    step = oracle.step_of(t)
    for candidate in (step - 1, step, step + 1):
        if account.last_step is None or candidate > account.last_step:
            return candidate
    return None


Runner = Callable[[Conformance, GenerationMode, str], list[str]]
