"""INPUT, through Schemathesis: generated requests, answers checked against spec/openapi.yaml."""

from __future__ import annotations

from schemathesis import GenerationMode

from conformance import requirement
from conformance.checks import expect_json_object, expect_status
from conformance.schema_fuzz import run_operations, run_stateful


def _a_session_token(api, conformance) -> str:
    """A session of its own: Schemathesis may log it out, which must not end another case's
    session (SESS-4 holds one while it ages)."""
    with conformance.accounts(api, 1, clean=False) as (account,):
        token, _ = conformance.sign_in(api, account, any_factor=True)
    return token


@requirement("INPUT-1", "every answer to a valid request matches the spec (Schemathesis)")
def test_INPUT_1_schema_positive_answers_conform(api, conformance):
    failures = run_operations(
        conformance, GenerationMode.POSITIVE, _a_session_token(api, conformance)
    )
    assert not failures, "\n\n".join(failures)


@requirement("INPUT-1", "generated invalid requests are refused with 4xx (Schemathesis)")
def test_INPUT_1_schema_negative_rejected(api, conformance):
    failures = run_operations(
        conformance, GenerationMode.NEGATIVE, _a_session_token(api, conformance)
    )
    assert not failures, "\n\n".join(failures)


@requirement("INPUT-5", "the spec's links followed at random leave the server standing")
def test_INPUT_5_schema_stateful_links(api, conformance, account):
    run_stateful(conformance, account)
    response = api.info()
    expect_status(response, 200)
    assert expect_json_object(response).get("api_version") == "1"
