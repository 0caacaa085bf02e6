"""The pytest plugin: options, fixtures, the requirement matrix, reports and the exit status.

    pytest -p conformance.plugin conformance/cases --target-profile board.toml [--only LOCK-1]

`python -m conformance server` runs exactly this, with rich progress instead of pytest's output.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.api import Api
from conformance.beside import SIDE_RUN, TIMINGS, SideRuns
from conformance.needs import EXHAUSTS_THROTTLE, order, starts_side_runs
from conformance.profile import ProfileError, load_profile
from conformance.recorder import Recorder
from conformance.requirements import MARKER, load_requirements, needs_of, sort_ids
from conformance.resources import RESOURCES, CaseContext
from conformance.results import (
    FAILED,
    NOT_RUN,
    PASSED,
    WARNING,
    CaseResult,
    RunResult,
    broken_rule_cases,
)
from conformance.session import Conformance, Target, TargetError

DEFAULT_REPORT_DIR = "reports"
INTERRUPTED = "the run was stopped before this case ended"
_STYLE = {PASSED: "green", FAILED: "bold red", WARNING: "yellow", NOT_RUN: "dim"}


@dataclass
class PluginState:
    """Everything the plugin learns during one run."""

    target: Target | None = None
    only: set[str] | None = None
    cases: dict[str, CaseResult] = field(default_factory=dict)
    session: Conformance | None = None
    setup_error: str = ""
    not_judged: str = ""  # the target could not be judged at all: why (exit status 3)
    setup_exception: BaseException | None = None
    started: float = field(default_factory=time.time)
    result: RunResult | None = None
    cleanups: list[Any] = field(default_factory=list)
    console: Console = field(default_factory=lambda: Console(highlight=False))


STATE = pytest.StashKey[PluginState]()
SIDE_RUNS = pytest.StashKey[SideRuns]()
RECORDER = pytest.StashKey[Recorder]()
NOTES = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "protocol conformance suite")
    group.addoption("--target-profile", default=None, help="TOML target profile (DECISIONS.md)")
    group.addoption("--report-dir", default=DEFAULT_REPORT_DIR, help="where reports go")
    group.addoption(
        "--only", default=None, help="comma-separated requirement IDs, e.g. LOCK-1,TOTP-4"
    )
    group.addoption(
        "--long", action="store_true", help="run timed cases with real production waits"
    )
    group.addoption("--list-requirements", action="store_true", help="print requirement -> cases")
    group.addoption("--no-reports", action="store_true", help="write no report files")
    group.addoption("--rich-progress", action="store_true", help="print one rich line per case")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(id, level, rationale, needs=()): the requirement judged"
    )
    state = PluginState()
    only = config.getoption("--only")
    if only:
        state.only = {part.strip().upper() for part in only.split(",") if part.strip()}
        known = set(load_requirements())
        unknown = state.only - known
        if unknown:
            raise pytest.UsageError(
                f"--only names unknown requirement IDs {sort_ids(unknown)}; known: "
                + ", ".join(sort_ids(known))
            )
    config.stash[STATE] = state
    side_runs = SideRuns(
        ensure_session,
        start_before=lambda item: starts_side_runs(needs_of_item(item)),
        started=lambda item: _announce(item, "BESIDE"),
    )
    config.stash[SIDE_RUNS] = side_runs
    config.pluginmanager.register(side_runs, "conformance-side-runs")


def inject_target(config: pytest.Config, target: Target) -> None:
    """For programmatic runs: judge this target (e.g. an in-process server) instead of a profile."""
    config.stash[STATE].target = target


def requirement_of(item: pytest.Item) -> tuple[str, str, str] | None:
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    req_id, level, rationale = marker.args
    return str(req_id), str(level), str(rationale)


def needs_of_item(item: pytest.Item) -> tuple[str, ...]:
    return needs_of(item.get_closest_marker(MARKER))


def order_of(item: pytest.Item) -> tuple[int, int]:
    """The run order comes from what each case needs (needs.py), nothing else."""
    return order(needs_of_item(item))


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    items.sort(key=order_of)
    state = config.stash[STATE]
    if state.only is None:
        return
    keep, drop = [], []
    for item in items:
        req = requirement_of(item)
        (keep if req is not None and req[0] in state.only else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if not config.getoption("--list-requirements"):
        return
    print_matrix(session.items, Console(highlight=False))
    pytest.exit("requirement matrix printed", returncode=0)


def print_matrix(items: list[pytest.Item], console: Console) -> None:
    requirements = load_requirements()
    by_id: dict[str, list[str]] = {req_id: [] for req_id in requirements}
    for item in items:
        req = requirement_of(item)
        if req is not None:
            by_id.setdefault(req[0], []).append(item.name)
    table = Table(title="Requirement -> cases")
    for column in ("Requirement", "Level", "Cases"):
        table.add_column(column)
    for req_id in sort_ids(by_id):
        req = requirements.get(req_id)
        level = req.level if req else "?"
        if req is not None and not req.black_box and not by_id[req_id]:
            cases = "[dim]checked by each implementation's own tests[/]"
        else:
            cases = ", ".join(by_id[req_id]) or "[bold red]NO CASE[/]"
        table.add_row(req_id, level, cases)
    console.print(table)
    missing = [
        r
        for r, cases in by_id.items()
        if not cases and (r not in requirements or requirements[r].black_box)
    ]
    console.print(f"{len(requirements)} requirements, {len(missing)} without a case")


# --- fixtures ---------------------------------------------------------------------------
def ensure_session(config: pytest.Config) -> Conformance:
    """The run's shared view of the target, made once (a failure is kept and raised again)."""
    state = config.stash[STATE]
    if state.session is not None:
        return state.session
    if state.setup_exception is not None:
        raise state.setup_exception
    try:
        target = state.target or _target_from_options(config, state)
        state.target = target
        session = Conformance(target=target, long=bool(config.getoption("--long")))
        session.start()
    except (TargetError, ProfileError) as exc:
        state.not_judged = " ".join(str(exc).split())  # one line
        state.setup_exception = exc
        raise
    except Exception as exc:
        state.setup_error = f"{type(exc).__name__}: {exc}"
        state.setup_exception = exc
        raise
    state.session = session
    return session


@pytest.fixture(scope="session")
def conformance(request: pytest.FixtureRequest) -> Conformance:
    """The run's shared view of the target; fails every case if the set-up broke."""
    return ensure_session(request.config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """Reach the target before the first case: one that cannot be judged runs no case."""
    config = session.config
    if config.getoption("--list-requirements") or config.getoption("--collect-only"):
        return None
    if not session.items:
        return None
    with contextlib.suppress(Exception):  # a set-up error is reported by each case
        ensure_session(config)
    return True if config.stash[STATE].not_judged else None


def _target_from_options(config: pytest.Config, state: PluginState) -> Target:
    from conformance import selfstart

    path = config.getoption("--target-profile")
    if path:
        return selfstart.target_from_profile(load_profile(path))
    from conformance.harness.reference import ReferenceServer

    server = ReferenceServer()
    state.cleanups.append(server.stop)
    return server.start()


@pytest.fixture
def recorder(request: pytest.FixtureRequest, conformance: Conformance) -> Recorder:
    recorder = conformance.recorder()
    request.node.stash[RECORDER] = recorder
    return recorder


@pytest.fixture
def api(conformance: Conformance, recorder: Recorder) -> Iterator[Api]:
    api = conformance.api(recorder)
    yield api
    api.close()


@pytest.fixture
def notes(request: pytest.FixtureRequest) -> list[str]:
    """Lines a case wants in the report (what it could not see, what it measured)."""
    lines: list[str] = []
    request.node.stash[NOTES] = lines
    return lines


def _resource_fixture(name: str) -> Any:
    """A pytest fixture for an entry of resources.RESOURCES (side runs use the same table)."""

    def fixture(
        conformance: Conformance, api: Api, recorder: Recorder, notes: list[str]
    ) -> Iterator[Any]:
        with contextlib.ExitStack() as stack:
            yield RESOURCES[name](CaseContext(conformance, api, recorder, notes, stack))

    fixture.__doc__ = RESOURCES[name].__doc__
    return pytest.fixture(name=name)(fixture)


for _name in RESOURCES:
    globals()[f"_{_name}_fixture"] = _resource_fixture(_name)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """After a case that exhausts the per-address throttle (LOCK-8), wait out its window."""
    state = item.config.stash[STATE]
    if EXHAUSTS_THROTTLE in needs_of_item(item) and state.session is not None:
        state.session.wait_out_throttle()


# --- outcomes ---------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _announce(item, "RUNNING")


def _announce(item: pytest.Item, what: str) -> None:
    """A case starting (or started in a thread beside): on a slow target a run takes hours, and
    a case that stalls is then found by the last such line without its verdict."""
    config = item.config
    req = requirement_of(item)
    if req is None or not config.getoption("--rich-progress"):
        return
    state = config.stash[STATE]
    items = item.session.items
    number = items.index(item) + 1 if item in items else 0
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        state.console.print(
            f"[dim]{what:8} {req[0]:8} {item.name} ({number}/{len(items)}, "
            f"{time.time() - state.started:.0f} s into the run)[/]",
            soft_wrap=True,  # one line each, also in a log file (not wrapped at 80 columns)
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    state = item.config.stash[STATE]
    req = requirement_of(item)
    if req is None:
        return report
    case = state.cases.get(item.nodeid)
    if case is None:  # not run until its call passes: a run stopped (Ctrl-C) in it says so
        case = CaseResult(item.nodeid, item.name, *req, outcome=NOT_RUN, message=INTERRUPTED)
        state.cases[item.nodeid] = case
    case.duration += report.duration
    if report.skipped:
        case.outcome = NOT_RUN
        case.message = _skip_reason(report)
    elif report.failed and case.outcome != FAILED:
        case.outcome = FAILED
        case.message = _failure_text(call)
        if state.session is not None:
            case.message = state.session.masker.text(case.message)
    elif report.when == "call" and report.passed and case.message == INTERRUPTED:
        case.outcome, case.message = PASSED, ""
    if report.when == "teardown":
        side_run = item.stash.get(SIDE_RUN, None)
        if side_run is not None:
            case.duration = side_run.duration
            item.stash[RECORDER] = side_run.recorder
            item.stash[NOTES] = side_run.notes
        timings = item.stash.get(TIMINGS, None)
        if timings is not None:
            case.timings = timings.as_dict()
        recorder = item.stash.get(RECORDER, None)
        if recorder is not None:  # passed cases keep theirs too (collapsed in the HTML report)
            case.exchanges = [e.to_dict() for e in recorder.exchanges[-40:]]
        case.notes = list(item.stash.get(NOTES, []))
        for found in broken_rule_cases(case, report.user_properties, load_requirements()):
            if state.session is not None:
                found.message = state.session.masker.text(found.message)
            state.cases[found.nodeid] = found
        if item.config.getoption("--rich-progress"):
            capture = item.config.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
                _progress(state.console, case)
        # A case that failed may have left its accounts in a state the pool does not know.
        if state.session is not None and state.session.pool is not None:
            state.session.release_all()
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason.removeprefix("Skipped: ")
    return str(longrepr)


def _failure_text(call: pytest.CallInfo[Any]) -> str:
    if call.excinfo is None:
        return "failed"
    exc = call.excinfo.value
    if isinstance(exc, AssertionError):
        if str(exc):
            return str(exc)
        entry = call.excinfo.traceback[-1]  # a bare assert: show the check that failed
        where = f"{Path(str(entry.path)).name}:{entry.lineno + 1}"
        return f"assertion failed: {str(entry.statement).strip()} ({where})"
    return _exception_text(exc)


def _exception_text(exc: BaseException) -> str:
    """The exception's own lines; a group's (Hypothesis' FlakyFailure: "failed on the first run
    but now succeeds") names what each of its exceptions was right after its first line, and
    where it was raised: that, not the group, says what went wrong."""
    lines = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    if isinstance(exc, BaseExceptionGroup):
        causes = []
        for n, sub in enumerate(exc.exceptions, start=1):
            frames = traceback.extract_tb(sub.__traceback__)
            where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
            text = _exception_text(sub).replace("\n", "\n    ")
            causes.append(f"  {n}: {text}{where}")
        lines[1:1] = causes
    return "\n".join(lines)


def _progress(console: Console, case: CaseResult) -> None:
    verdict = case.verdict
    first = case.message.splitlines()[0][:110] if case.message and verdict != PASSED else ""
    console.print(
        f"[{_STYLE[verdict]}]{verdict.upper():8}[/] {case.req_id:8} {case.name} "
        f"[dim]{case.duration:.2f}s[/] {escape(first)}",
        soft_wrap=True,
    )


def build_result(config: pytest.Config) -> RunResult:
    state = config.stash[STATE]
    target = state.target
    session = state.session
    return RunResult(
        target_name=target.name if target else "(none)",
        base_url=target.base_url if target else "",
        profile=session.profile_name if session else "?",
        started=state.started,
        duration=time.time() - state.started,
        cases=list(state.cases.values()),
        requirements=load_requirements(),
        selected=state.only,
        setup_error=state.setup_error,
        not_judged=state.not_judged,
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash[STATE]
    if config.getoption("--list-requirements") or not (state.cases or state.not_judged):
        return
    result = build_result(config)
    state.result = result
    if not config.getoption("--no-reports"):
        from conformance.reports import write_reports

        paths = write_reports(result, Path(config.getoption("--report-dir")))
        if config.getoption("--rich-progress"):
            state.console.print("Reports: " + ", ".join(str(p) for p in paths.values()))
    if config.getoption("--rich-progress"):
        print_summary(result, state.console)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or state.not_judged:
        session.exitstatus = result.exit_status


def print_summary(result: RunResult, console: Console) -> None:
    if not result.judged:
        console.print(f"[bold yellow]NOT JUDGED[/]: {escape(result.not_judged)}")
        return
    table = Table(title=f"Conformance of {result.target_name} ({result.profile} profile)")
    for column in ("Requirement", "Level", "Verdict", "Time", "Why"):
        table.add_column(column)
    for req_id, v in result.verdicts().items():
        why = v.reason.splitlines()[0][:80] if v.reason and v.verdict != PASSED else ""
        table.add_row(
            req_id,
            v.requirement.level,
            f"[{_STYLE[v.verdict]}]{v.verdict}[/]",
            f"{v.duration:.2f}s",
            why,
        )
    console.print(table)
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items())
    verdict = "[green]CONFORMS[/]" if result.exit_status == 0 else "[bold red]DOES NOT CONFORM[/]"
    console.print(f"{verdict}: {counts} in {result.duration:.1f} s")
    if result.setup_error:
        console.print(f"[bold red]Set-up error:[/] {result.setup_error}")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    config.stash[SIDE_RUNS].join()
    for cleanup in reversed(state.cleanups):
        cleanup()
