"""INPUT, through Schemathesis: generated requests, answers checked against spec/openapi.yaml."""

from __future__ import annotations

from schemathesis import GenerationMode

from conformance import requirement
from conformance.checks import expect_json_object, expect_status
from conformance.schema_fuzz import run_operations, run_stateful


@requirement("INPUT-1", "MUST", "every answer to a valid request matches the spec (Schemathesis)")
def test_INPUT_1_schema_positive_answers_conform(api, conformance, account):
    token, _ = conformance.sign_in(api, account)
    failures = run_operations(conformance, GenerationMode.POSITIVE, token)
    account.tainted = True  # generated logins and verifies may have touched it
    assert not failures, "\n\n".join(failures)


@requirement("INPUT-1", "MUST", "generated invalid requests are refused with 4xx (Schemathesis)")
def test_INPUT_1_schema_negative_rejected(api, conformance, account):
    token, _ = conformance.sign_in(api, account)
    failures = run_operations(conformance, GenerationMode.NEGATIVE, token)
    account.tainted = True
    assert not failures, "\n\n".join(failures)


@requirement("INPUT-5", "MUST", "the spec's links followed at random leave the server standing")
def test_INPUT_5_schema_stateful_links(api, conformance, account):
    try:
        run_stateful(conformance, account)
    finally:
        account.tainted = True
    response = api.info()
    expect_status(response, 200)
    assert expect_json_object(response).get("api_version") == "1"
