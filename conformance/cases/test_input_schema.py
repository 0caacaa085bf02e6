"""INPUT, through Schemathesis: generated requests, answers checked against spec/openapi.yaml.

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

from schemathesis import GenerationMode

from conformance import requirement
from conformance.checks import expect_json_object, expect_status
from conformance.results import BROKEN_RULE
from conformance.schema_fuzz import Finding, run_operations, run_stateful


def _judge(findings: list[Finding], own: str, record_property) -> None:
    """This case's own rule fails it; another rule's finding goes to that requirement."""
    for finding in findings:
        if finding.req_id not in (None, own):
            record_property(BROKEN_RULE, (finding.req_id, finding.text))
    mine = [f.text for f in findings if f.req_id in (None, own)]
    assert not mine, "\n\n".join(mine)


@requirement("INPUT-1", "every answer to a valid request matches the spec (Schemathesis)")
def test_INPUT_1_schema_positive_answers_conform(api, conformance, session, record_property):
    # A session of its own: Schemathesis may log it out (SESS-4 holds another while it ages).
    findings = run_operations(conformance, GenerationMode.POSITIVE, session.token)
    _judge(findings, "INPUT-1", record_property)


@requirement("INPUT-1", "generated invalid requests are refused with 4xx (Schemathesis)")
def test_INPUT_1_schema_negative_rejected(api, conformance, session, record_property):
    findings = run_operations(conformance, GenerationMode.NEGATIVE, session.token)
    _judge(findings, "INPUT-1", record_property)


@requirement("INPUT-5", "the spec's links followed at random leave the server standing")
def test_INPUT_5_schema_stateful_links(api, conformance, account, record_property):
    _judge(run_stateful(conformance, account), "INPUT-5", record_property)
    response = api.info()
    expect_status(response, 200)
    assert expect_json_object(response).get("api_version") == "1"
