"""`python -m conformance client --command 'CMD ...'`: judge a client of the protocol."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from conformance.clients.board import Board
from conformance.clients.scenarios import REQUIREMENTS, SCENARIOS, Scenario
from conformance.clients.stage import Play, Stage
from conformance.harness.embedded import ReferenceBoard
from conformance.reports import write_reports
from conformance.results import FAILED, PASSED, CaseResult, RunResult

DEFAULT_REPORT_DIR = "reports/client-conformance"
DEFAULT_TIMEOUT_S = 30.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m conformance client",
        description=(
            "Judge a client of the protocol: for each scenario start the reference server "
            "(HTTPS, throwaway CA) in recording mode, run COMMAND, and judge the recorded "
            "exchanges and the exit status. COMMAND may use {base_url}, {username}, {password}, "
            "{totp_secret} and {ca_cert} (substituted as they are; also in the environment as "
            "TFA_BASE_URL, TFA_USERNAME, TFA_PASSWORD, TFA_TOTP_SECRET, TFA_CA_CERT)."
        ),
    )
    p.add_argument(
        "--command", metavar="CMD", required=True, help="the client's command line (a shell string)"
    )
    p.add_argument(
        "--report-dir", metavar="DIR", default=DEFAULT_REPORT_DIR, help="default: %(default)s"
    )
    p.add_argument(
        "--only", metavar="IDS", help="comma-separated scenario IDs, e.g. CLIENT-1,CLIENT-3"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds each run of the command may take (default {DEFAULT_TIMEOUT_S:.0f})",
    )
    p.add_argument(
        "--name", metavar="NAME", help="the client's name in the reports (default: the command)"
    )
    return p


def main(
    argv: Sequence[str] | None = None, board_factory: Callable[[], Board] | None = None
) -> int:
    """Run the scenarios; 0 when every MUST passed (`board_factory`: another server, for tests)."""
    try:
        options = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2): a status, not an exit
        return exc.code if isinstance(exc.code, int) else 2
    selected = _selected(options.only)
    if selected is not None and not selected <= set(REQUIREMENTS):
        unknown = ", ".join(sorted(selected - set(REQUIREMENTS)))
        print(f"error: unknown scenario ID(s): {unknown}", file=sys.stderr)
        return 2
    result = run(
        options.command,
        timeout=options.timeout,
        selected=selected,
        board_factory=board_factory or ReferenceBoard,
        name=options.name or options.command,
    )
    paths = write_reports(result, Path(options.report_dir))
    _summary(result, paths)
    return result.exit_status


def run(
    command_line: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    selected: set[str] | None = None,
    board_factory: Callable[[], Board] = ReferenceBoard,
    name: str = "",
) -> RunResult:
    started = time.time()
    stage = Stage(command_line, timeout, board_factory)
    cases: list[CaseResult] = []
    setup_error = ""
    try:
        for scenario in SCENARIOS:
            if selected is None or scenario.req_id in selected:
                cases.append(_case(stage, scenario))
    except Exception:  # noqa: BLE001 - a harness failure is reported, not a client verdict
        setup_error = traceback.format_exc()
    finally:
        stage.close()
    return RunResult(
        target_name=f"client: {name or command_line}",
        base_url="https://127.0.0.1 (a fresh reference server per scenario)",
        profile="test",
        started=started,
        duration=time.time() - started,
        cases=cases,
        requirements=dict(REQUIREMENTS),
        selected=selected,
        setup_error=setup_error,
    )


def _case(stage: Stage, scenario: Scenario) -> CaseResult:
    began = time.monotonic()
    play: Play = scenario.play(stage)
    failures = scenario.judge(play, stage)
    outcome = play.outcome
    status = "killed at the timeout" if outcome.timed_out else str(outcome.exit_status)
    notes = [
        f"exit status: {status}",
        f"ran {outcome.duration:.1f} s",
    ]
    if play.raw_requests:
        notes.append(f"{len(play.raw_requests)} connection(s) reached the raw server")
    for label, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        if text.strip():
            notes.append(f"{label}: {stage.masker.text(_tail(text))}")
    return CaseResult(
        nodeid=f"conformance/clients::{scenario.req_id}::{scenario.name}",
        name=f"test_{scenario.req_id.replace('-', '_')}_{scenario.name}",
        req_id=scenario.req_id,
        level=scenario.level,
        rationale=scenario.rationale,
        outcome=FAILED if failures else PASSED,
        duration=time.monotonic() - began,
        message="\n".join(stage.masker.text(f) for f in failures),
        notes=notes,
        exchanges=stage.exchanges(play),
    )


def _selected(only: str | None) -> set[str] | None:
    if not only:
        return None
    return {part.strip().upper() for part in only.split(",") if part.strip()}


def _tail(text: str, limit: int = 1500) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def _summary(result: RunResult, paths: dict[str, Path]) -> None:
    for case in result.cases:
        line = f"{case.verdict.upper():8} {case.req_id:9} {case.name}"
        print(line)
        if case.message:
            for failure in case.message.splitlines():
                print(f"         - {failure}")
    if result.setup_error:
        print(f"harness error:\n{result.setup_error}", file=sys.stderr)
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items())
    print(f"{counts}. Reports: " + ", ".join(str(p) for p in paths.values()))
