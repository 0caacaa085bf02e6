"""Schemathesis against a live target: positive, negative and stateful (OpenAPI links) runs.

Bounded in time (few examples per operation). Accounts come from the suite's pool, so the
stateful run signs in for real and the pool still knows each account's state afterwards.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from conformance import oracle
from conformance.accounts import Account
from conformance.model import Seen, parse
from conformance.requirements import REPO_ROOT, SPEC_PATH
from conformance.session import Conformance
from conformance.timing import SCHEMATHESIS, timed

CONFIG_PATH = REPO_ROOT / "schemathesis.toml"
MAX_EXAMPLES = 5
STATEFUL_EXAMPLES = 4
STATEFUL_STEPS = 5
BEARER_OPERATIONS = ("GET /api/dashboard", "POST /api/auth/logout")


@functools.cache
def load_schema() -> Any:
    """Parsed once per process: the positive, negative and stateful runs share it."""
    config = SchemathesisConfig.from_path(CONFIG_PATH) if CONFIG_PATH.exists() else None
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


def run_operations(session: Conformance, mode: GenerationMode, token: str) -> list[str]:
    """Every operation with `mode` data; returns failure descriptions (empty when conformant)."""
    with timed(SCHEMATHESIS):
        return _run_operations(session, mode, token)


def _run_operations(session: Conformance, mode: GenerationMode, token: str) -> list[str]:
    schema = load_schema()
    failures: list[str] = []
    base_url, verify = session.target.base_url, _requests_verify(session)
    for result in schema.get_all_operations():
        operation = result.ok()
        bearer = operation.label in BEARER_OPERATIONS
        headers = {"Authorization": f"Bearer {token}"} if bearer else None
        check = _operation_test(operation, mode, base_url, verify, headers)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check()
        except Unsatisfiable:
            continue  # nothing to negate (GET /api/info has no input)
        except Exception as exc:  # noqa: BLE001 - schemathesis reports many kinds; all are findings
            failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


def _operation_test(
    operation: Any, mode: GenerationMode, base_url: str, verify: Any, headers: dict[str, str] | None
) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @_settings(MAX_EXAMPLES)
    def check(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, verify=verify)

    return check


def run_stateful(session: Conformance, account: Account) -> None:
    """Follow the spec's links (login -> verify -> dashboard/logout) with a real account."""
    schema = load_schema()
    base_url, verify = session.target.base_url, _requests_verify(session)
    sent: dict[int, tuple[float, float]] = {}  # target time and local monotonic time

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
            # The model learns from these exchanges as from every other (model.py).
            request = response.request
            at, started = sent.pop(id(case), (session.now, time.monotonic()))
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

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "verify": verify}

    with warnings.catch_warnings(), timed(SCHEMATHESIS):
        warnings.simplefilter("ignore")
        Links.run(settings=_settings(STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS))


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
