"""Run the suite programmatically (the CLI, the benchmark and the mutant tests all come here)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from conformance.plugin import STATE, inject_target
from conformance.results import RunResult
from conformance.session import Target

CASES_DIR = Path(__file__).resolve().parent / "cases"


class _Injector:
    """Hands a ready-made target to the plugin and keeps the config to read the result back."""

    def __init__(self, target: Target | None) -> None:
        self.target = target
        self.config: pytest.Config | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        if self.target is not None:
            inject_target(config, self.target)


def pytest_args(
    target_profile: str | None = None,
    report_dir: str | None = None,
    only: Sequence[str] | None = None,
    long: bool = False,
    list_requirements: bool = False,
    quiet: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    args = [str(CASES_DIR), "-p", "conformance.plugin", "-p", "no:cacheprovider"]
    # the suite's own options only: not the project's pytest settings (addopts such as -rs
    # need the terminal reporter, which the suite replaces)
    args += ["--rootdir", str(CASES_DIR.parent.parent), "-o", "addopts="]
    # The cases say their own words (PYTEST_DONT_REWRITE in each): without rewriting, pytest
    # does not rewrite the plugin packages either (Schemathesis, Hypothesis: ~350 modules, 1.5 s
    # of each run where bytecode is not cached, e.g. PYTHONDONTWRITEBYTECODE or a read-only
    # install).
    args.append("--assert=plain")
    # An exception no one can raise (in a __del__) is no verdict, and the report has no place for
    # it: without this plugin pytest does not run the garbage collector over and over at the
    # end of each run to find them (0.1-0.2 s).
    args += ["-p", "no:unraisableexception"]
    if target_profile:
        args += ["--target-profile", target_profile]
    if report_dir:
        args += ["--report-dir", report_dir]
    else:
        args += ["--no-reports"] if quiet else []
    if only:
        args += ["--only", ",".join(only)]
    if long:
        args.append("--long")
    if list_requirements:
        args.append("--list-requirements")
    if quiet:
        args += ["-p", "no:terminal"]
    else:
        args += ["-p", "no:terminal", "--rich-progress"]
    return args + list(extra)


def run_suite(
    target: Target | None = None,
    *,
    target_profile: str | None = None,
    only: Sequence[str] | None = None,
    long: bool = False,
    report_dir: str | None = None,
    quiet: bool = True,
    extra: Sequence[str] = (),
    plugins: Sequence[object] = (),
) -> tuple[int, RunResult | None]:
    """Judge a target in this process; returns (exit status, result). `plugins`: more pytest
    plugin objects (the benchmark's, which reads the target's work around each case)."""
    injector = _Injector(target)
    args = pytest_args(target_profile, report_dir, only, long, quiet=quiet, extra=extra)
    status = pytest.main(args, plugins=[injector, *plugins])
    result = None
    if injector.config is not None:
        result = injector.config.stash[STATE].result
    return int(status), result
