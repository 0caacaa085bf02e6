"""Report writers and the verdict/exit-status rules they rest on."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from conformance.reports import html_report, json_report, junit_xml, write_reports
from conformance.requirements import Requirement
from conformance.results import FAILED, NOT_RUN, PASSED, WARNING, CaseResult, RunResult

EXCHANGE = {
    "method": "POST",
    "url": "https://t/api/auth/verify",
    "request_headers": [["Authorization", "Bearer «masked»"]],
    "request_body": '{"totp_code": "«masked» (6 chars)"}',
    "status": 200,
    "response_headers": [["content-type", "application/json"]],
    "response_body": '{"status": "success"}',
    "error": "",
}


def result(*cases: CaseResult, selected=None) -> RunResult:
    requirements = {
        "TOTP-4": Requirement("TOTP-4", "MUST", "TOTP", "no replay"),
        "LOGIN-4": Requirement("LOGIN-4", "SHOULD", "LOGIN", "timing"),
        "LOCK-3": Requirement("LOCK-3", "MUST", "LOCK", "lock ends"),
        "TLS-1": Requirement("TLS-1", "SHOULD", "TLS", "https"),
    }
    return RunResult("board", "https://t", "test", 0.0, 1.5, list(cases), requirements, selected)


def case(req_id, level, outcome, message="", exchanges=()):
    return CaseResult(
        f"x::test_{req_id}", f"test_{req_id.replace('-', '_')}_x", req_id, level, "why", outcome,
        0.25, message, ["a note"], list(exchanges),
    )  # fmt: skip


def test_verdicts_and_exit_status():
    run = result(
        case("TOTP-4", "MUST", PASSED),
        case("LOGIN-4", "SHOULD", FAILED, "too slow"),
        case("LOCK-3", "MUST", NOT_RUN, "not run: needs --long"),
        case("TLS-1", "SHOULD", PASSED),
    )
    verdicts = run.verdicts()
    assert verdicts["TOTP-4"].verdict == PASSED
    assert verdicts["LOGIN-4"].verdict == WARNING
    assert verdicts["LOCK-3"].verdict == NOT_RUN and "--long" in verdicts["LOCK-3"].reason
    assert run.exit_status == 1  # a MUST not run is not a pass
    only_passing = result(case("TOTP-4", "MUST", PASSED), case("LOGIN-4", "SHOULD", FAILED))
    only_passing.selected = {"TOTP-4", "LOGIN-4"}
    assert only_passing.exit_status == 0  # a failing SHOULD is a warning


def test_a_requirement_without_a_case_is_not_run():
    run = result(case("TOTP-4", "MUST", PASSED))
    assert run.verdicts()["LOCK-3"].verdict == NOT_RUN
    assert run.exit_status == 1


def test_junit_names_carry_the_requirement_and_failures_are_marked():
    run = result(case("TOTP-4", "MUST", FAILED, "replayed code accepted"), selected={"TOTP-4"})
    root = ET.fromstring(junit_xml(run))  # noqa: S314 - our own output
    (testcase,) = root.iter("testcase")
    assert testcase.get("name").startswith("TOTP-4 ")
    assert testcase.find("failure").get("message") == "replayed code accepted"
    assert root.get("failures") == "1"


def test_json_report_per_requirement():
    run = result(
        case("TOTP-4", "MUST", FAILED, "boom", [EXCHANGE]),
        case("LOGIN-4", "SHOULD", PASSED),
        selected={"TOTP-4", "LOGIN-4"},
    )
    data = json_report(run)
    assert data["exit_status"] == 1
    assert data["requirements"]["TOTP-4"]["verdict"] == FAILED
    assert data["requirements"]["TOTP-4"]["cases"][0]["exchanges"][0]["status"] == 200
    assert "exchanges" not in data["requirements"]["LOGIN-4"]["cases"][0]
    json.dumps(data)


def test_html_is_one_self_contained_page_with_the_failing_exchange(tmp_path):
    run = result(case("TOTP-4", "MUST", FAILED, "<script>x</script>", [EXCHANGE]))
    page = html_report(run)
    assert "<style>" in page and "<link" not in page and "src=" not in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "POST https://t/api/auth/verify" in page and "Bearer «masked»" in page
    paths = write_reports(run, tmp_path / "out")
    assert {p.name for p in paths.values()} == {
        "conformance-junit.xml",
        "conformance.json",
        "conformance.html",
    }


def test_every_row_has_its_text_and_an_anchor_that_resolves():
    run = result(
        case("TOTP-4", "MUST", PASSED, exchanges=[EXCHANGE]),
        case("LOGIN-4", "SHOULD", FAILED, "too slow", [EXCHANGE]),
    )
    page = html_report(run)
    links = re.findall(r"href='#([^']+)'", page)
    ids = set(re.findall(r"id='([^']+)'", page))
    assert sorted(links) == sorted(run.verdicts()) and set(links) <= ids
    for req_id, verdict in run.verdicts().items():
        row = re.search(rf"<tr class='[a-z-]+'><td><a href='#{req_id}'>.*?</tr>", page)
        assert row and verdict.requirement.text in row.group(0), req_id
    # a passed case keeps its exchanges, collapsed; a failed one shows them open
    totp4 = page[page.index("id='TOTP-4'") :]
    assert totp4.index("<details><summary>1 HTTP exchange") < totp4.index("</section>")
    login4 = page[page.index("id='LOGIN-4'") :]
    assert login4.index("<details open><summary>1 HTTP exchange") < login4.index("</section>")


def test_a_message_is_the_cases_own_words():
    from conformance.plugin import _failure_text
    from conformance.tests.harness import embedded, judge

    _, run = judge(embedded(tls=False), only=["TLS-1"])
    verdict = run.verdicts()["TLS-1"]
    assert verdict.verdict == WARNING
    assert verdict.reason.startswith("the target is served over plain HTTP: http://127.0.0.1:")
    assert "built-in" not in verdict.reason and "where" not in verdict.reason, verdict.reason

    def bare():
        raise AssertionError

    text = _failure_text(pytest.CallInfo.from_call(bare, "call"))
    assert text == f"assertion failed: raise AssertionError (test_reports.py:{_line_of(bare)})"


def test_a_groups_message_names_what_went_wrong_inside_it():
    """Hypothesis' FlakyFailure is a group: what failed on the first run is inside it."""
    from conformance.plugin import _failure_text

    def flaky():
        try:
            raise ConnectionResetError("the board reset the connection")
        except ConnectionResetError as inner:
            raise ExceptionGroup("Inconsistent results: failed on the first run", [inner]) from None

    text = _failure_text(pytest.CallInfo.from_call(flaky, "call"))
    first, cause = text.splitlines()[:2]
    assert first.startswith("ExceptionGroup: Inconsistent results: failed on the first run")
    assert cause.startswith("  1: ConnectionResetError: the board reset the connection (at ")
    assert "test_reports.py:" in cause


def _line_of(fn) -> int:
    return fn.__code__.co_firstlineno + 1


def test_every_case_module_opts_out_of_assertion_rewriting():
    """Rewriting would append pytest's introspection to a case's message, in any process that
    imports the cases (the CLI, or a test run judging an in-process server)."""
    import ast
    from pathlib import Path

    import conformance.cases as cases

    for path in Path(cases.__file__).parent.glob("test_*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert "PYTEST_DONT_REWRITE" in doc, path.name
