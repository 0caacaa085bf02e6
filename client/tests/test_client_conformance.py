"""The client checks (conformance/clients) pass correct clients and fail broken ones."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from client.tests.live_board import FakeReference
from conformance.clients import main

REPO = Path(__file__).resolve().parents[2]
CURL_CLIENT = REPO / "conformance" / "clients" / "examples" / "curl_client.sh"
PY = shlex.quote(sys.executable)
OUR_CLIENT = (
    f"{PY} -m client login --server {{base_url}} --username {{username}} --ca-cert {{ca_cert}} "
    "--password-env TFA_PASSWORD --totp-secret {totp_secret} --timeout 3"
)
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def judge(tmp_path: Path, command: str, *only: str) -> tuple[int, dict]:
    argv = ["--command", command, "--report-dir", str(tmp_path), "--timeout", "20"]
    if only:
        argv += ["--only", ",".join(only)]
    status = main(argv, board_factory=FakeReference)
    report = json.loads((tmp_path / "conformance.json").read_text())
    return status, report


def verdicts(report: dict) -> dict[str, str]:
    return {req: entry["verdict"] for req, entry in report["requirements"].items()}


def test_this_projects_client_passes(tmp_path: Path) -> None:
    status, report = judge(tmp_path, OUR_CLIENT)
    assert report["setup_error"] == ""
    assert set(verdicts(report).values()) == {"passed"}, report["requirements"]
    assert status == 0
    html = (tmp_path / "conformance.html").read_text()
    junit = (tmp_path / "conformance-junit.xml").read_text()
    assert "CLIENT-7" in html and "CLIENT-1" in junit


@needs_curl
def test_a_correct_curl_client_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON", sys.executable)
    status, report = judge(tmp_path, f"bash {CURL_CLIENT}")
    assert set(verdicts(report).values()) == {"passed"}, report["requirements"]
    assert status == 0


@needs_curl
@pytest.mark.parametrize(
    ("flag", "requirement", "finding"),
    [
        ("--form-login", "CLIENT-1", "application/x-www-form-urlencoded"),
        ("--scheme Token", "CLIENT-1", "Bearer"),
        ("--hammer", "CLIENT-3", "before Retry-After"),
    ],
)
def test_broken_curl_clients_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str, requirement: str, finding: str
) -> None:
    monkeypatch.setenv("PYTHON", sys.executable)
    status, report = judge(tmp_path, f"bash {CURL_CLIENT} {flag}", requirement)
    assert status == 1
    entry = report["requirements"][requirement]
    assert entry["verdict"] == "failed"
    assert finding in entry["reason"]


def test_secrets_stay_out_of_the_reports(tmp_path: Path) -> None:
    boards: list[FakeReference] = []

    def factory() -> FakeReference:
        boards.append(FakeReference())
        return boards[-1]

    argv = ["--command", OUR_CLIENT, "--report-dir", str(tmp_path), "--only", "CLIENT-1"]
    assert main(argv, board_factory=factory) == 0
    text = "".join(p.read_text() for p in tmp_path.iterdir())
    for board in boards:
        account = board.accounts[0]
        assert account.password not in text and account.totp_secret not in text
        for token in list(board.fake.sessions) + list(board.fake.challenges):
            assert token not in text


def test_unknown_scenario_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["--command", "true", "--only", "CLIENT-99", "--report-dir", str(tmp_path)]) == 2


def test_this_projects_client_passes_against_the_reference_server(tmp_path: Path) -> None:
    pytest.importorskip("reference_server.embedded")
    argv = ["--command", OUR_CLIENT, "--report-dir", str(tmp_path), "--timeout", "20"]
    assert main(argv) == 0  # the default server: the reference server, in-process
    report = json.loads((tmp_path / "conformance.json").read_text())
    assert set(verdicts(report).values()) == {"passed"}, report["requirements"]


@needs_curl
def test_a_client_that_waits_out_the_lock_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exits non-zero or waits`: waiting Retry-After and then logging in is correct too."""
    pytest.importorskip("reference_server.embedded")
    monkeypatch.setenv("PYTHON", sys.executable)
    argv = ["--command", f"bash {CURL_CLIENT} --wait", "--report-dir", str(tmp_path)]
    assert main([*argv, "--only", "CLIENT-3"]) == 0
    case = json.loads((tmp_path / "conformance.json").read_text())["requirements"]["CLIENT-3"]
    assert case["cases"][0]["notes"][0] == "exit status: 0"  # it waited and got in


def test_help_and_usage_errors_return_a_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert main([]) == 2


@needs_curl
def test_a_client_that_skips_verification_fails_client_6(tmp_path: Path) -> None:
    status, report = judge(tmp_path, "curl -sk {base_url}/api/info >/dev/null", "CLIENT-6")
    assert status == 1
    assert "did not verify" in report["requirements"]["CLIENT-6"]["reason"]


@needs_curl
def test_a_client_without_a_timeout_fails_on_silence(tmp_path: Path) -> None:
    argv = ["--command", "curl -s --cacert {ca_cert} {base_url}/api/info", "--timeout", "2"]
    assert main([*argv, "--only", "CLIENT-7", "--report-dir", str(tmp_path)], FakeReference) == 1
    cases = json.loads((tmp_path / "conformance.json").read_text())["requirements"]["CLIENT-7"]
    silence = next(c for c in cases["cases"] if c["name"].endswith("silence"))
    assert silence["verdict"] == "failed" and "did not finish within 2 s" in silence["message"]


def test_a_client_that_always_says_yes_fails(tmp_path: Path) -> None:
    status, report = judge(tmp_path, "echo Access granted")
    assert status == 1
    failed = {req for req, verdict in verdicts(report).items() if verdict == "failed"}
    # It never logs in, so only the scenarios that need a real login or a refusal catch it.
    assert {"CLIENT-1", "CLIENT-2", "CLIENT-6", "CLIENT-7"} <= failed
