"""Schemathesis against the ASGI app: positive, negative and stateful (through the spec's links),
zero server errors and every answer as the spec describes it. Expected statuses come from
spec/schemathesis.toml (the conformance suite reads the same file)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from reference_server.core.passwords import LIGHT, Passwords
from reference_server.embedded import EmbeddedServer

from .conftest import SPEC

pytestmark = pytest.mark.slow

SERVER = EmbeddedServer(profile="test", accounts=2, passwords=Passwords(**LIGHT))
schema = schemathesis.openapi.from_path(
    SPEC, config=SchemathesisConfig.from_path(SPEC.parent / "schemathesis.toml")
)
schema.app = SERVER.app
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@schema.parametrize()
@SETTINGS
def test_schemathesis_no_server_errors(case):
    case.call_and_validate()


class Flow(schema.as_state_machine()):  # type: ignore[misc]
    pass


TestStatefulFlow = Flow.TestCase
TestStatefulFlow.settings = settings(
    max_examples=25,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
