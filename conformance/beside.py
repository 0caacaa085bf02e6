"""Cases that mostly wait, run in threads beside the others, so that their waits overlap.

Against a live target a lock, a challenge or a session takes its real time to end (5 s in a test
profile, minutes in production). A case that declares it `waits for an expiry` (needs.py) is
started in its own thread, with its own accounts, connection and recorder, once the cases that
must run alone or spend TOTP steps are done (the needs' order says when: `start_before`). Its
parameters are made from the same table as pytest's fixtures (resources.py). When pytest
reaches it (it is collected last), its outcome is reported as if it had just run. A target
whose clock the suite moves gains nothing (waiting is free) and is judged one case at a time,
since moving the clock under a running case would change what that case sees.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from conformance.blocking import judging
from conformance.needs import runs_beside
from conformance.requirements import MARKER, needs_of
from conformance.resources import RESOURCES, CaseContext
from conformance.session import Conformance
from conformance.timing import Timings, attributed

TIMINGS = pytest.StashKey[Timings]()


BASICS = ("conformance", "api", "recorder", "notes")


def requirement_id(item: pytest.Item) -> str:
    marker = item.get_closest_marker(MARKER)
    return str(marker.args[0]) if marker is not None else ""


def is_beside(item: pytest.Item) -> bool:
    return runs_beside(needs_of(item.get_closest_marker(MARKER)))


class SideRun:
    """One case in its own thread: its fixtures built here, its outcome kept for pytest."""

    def __init__(self, item: pytest.Function, session: Conformance) -> None:
        self.item = item
        self.session = session
        self.names = list(inspect.signature(item.function).parameters)
        self.recorder = session.recorder()
        self.notes: list[str] = []
        self.timings = Timings()
        self.error: BaseException | None = None
        self.duration = 0.0
        self.thread = threading.Thread(
            target=self._run, name=f"conformance {item.name}", daemon=True
        )

    @classmethod
    def possible(cls, item: pytest.Item) -> bool:
        """Only plain case functions whose parameters are basics or resources."""
        if not isinstance(item, pytest.Function):
            return False
        names = inspect.signature(item.function).parameters
        return all(name in BASICS or name in RESOURCES for name in names)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        with attributed(self.timings), judging(requirement_id(self.item)):
            try:
                with contextlib.ExitStack() as stack:
                    self.item.function(**self._fixtures(stack))
            except BaseException as exc:  # noqa: BLE001 - pytest outcomes too; re-raised in outcome()
                self.error = exc
            finally:
                self.duration = time.perf_counter() - started

    def _fixtures(self, stack: contextlib.ExitStack) -> dict[str, Any]:
        session = self.session
        api = session.api(self.recorder)
        stack.callback(api.close)
        values: dict[str, Any] = {
            "conformance": session,
            "api": api,
            "recorder": self.recorder,
            "notes": self.notes,
        }
        context = CaseContext(session, api, self.recorder, self.notes, stack, beside=True)
        return {
            name: values[name] if name in values else RESOURCES[name](context)
            for name in self.names
        }

    def outcome(self) -> None:
        """Wait for the case; raise what it raised (a failure, a skip) in the caller."""
        self.thread.join()
        if self.error is not None:
            raise self.error


class SideRuns:
    """The pytest plugin part: starts the side runs once, and reports each when reached."""

    def __init__(
        self,
        session_of: Callable[[pytest.Config], Conformance],
        start_before: Callable[[pytest.Item], bool],
        started: Callable[[pytest.Item], None] = lambda item: None,
    ) -> None:
        self.session_of = session_of
        self.start_before = start_before
        self.started_one = started
        self.started = False
        self.runs: dict[str, SideRun] = {}

    def start(self, items: list[pytest.Item], config: pytest.Config) -> None:
        self.started = True
        if not any(is_beside(item) for item in items):
            return
        try:
            session = self.session_of(config)
        except Exception:  # noqa: BLE001 - the cases report the set-up error themselves
            return
        assert session.clock is not None
        if session.clock.movable:
            return
        for item in items:
            if is_beside(item) and SideRun.possible(item):
                run = SideRun(item, session)  # type: ignore[arg-type]
                self.runs[item.nodeid] = run
                run.start()
                self.started_one(item)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        if not self.started and self.start_before(item):
            self.start(item.session.items, item.config)
        timings = Timings()
        item.stash[TIMINGS] = timings
        with attributed(timings), judging(requirement_id(item)):
            return (yield)

    @pytest.hookimpl(tryfirst=True, specname="pytest_runtest_protocol")
    def pytest_runtest_protocol_side_run(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        run = self.runs.get(item.nodeid)
        if run is None:
            return None
        item.stash[TIMINGS] = run.timings
        item.stash[SIDE_RUN] = run
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for when, step in (("setup", _nothing), ("call", run.outcome), ("teardown", _nothing)):
            call = pytest.CallInfo.from_call(step, when=when)  # type: ignore[arg-type]
            report = ihook.pytest_runtest_makereport(item=item, call=call)
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def join(self, timeout: float = 1.0) -> None:
        """At the end: no side run outlives the session (a run stopped early leaves some)."""
        for run in self.runs.values():
            run.thread.join(timeout)


SIDE_RUN = pytest.StashKey[SideRun]()


def _nothing() -> None:
    return None
