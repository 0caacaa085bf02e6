"""Wall time of a full conformance run, and where it goes.

    python -m conformance.bench [--only IDS] [--skip-subprocess] [--skip-embedded] [--skip-light]

Three runs, measured in the same process: the reference server as a subprocess over HTTPS on
loopback (test profile, real clock: what `nox -s conformance` does); in-process (EmbeddedServer,
production profile, fake clock), with the production argon2id cost (64 MiB, t=3: about 0.1 s a
login here, and a run makes over a hundred); and in-process with the test profile's light
argon2id, which leaves the suite's own cost (the self-tests' setting). Targets: 45 s and 15 s.

Where the time goes: per section, the slowest cases, per category (timing.py: TOTP step waits,
lockout/TTL waits, account waits, logins, Schemathesis, raw-socket idle, restart; the rest is
plain requests), and in-process the password hashes each case caused (the server's own hasher
counts them). The attack cases of the contract's rev. 2 (INPUT-6/7/8, LOCK-8, the LOGIN-3 churn)
came after the 15 s target and have a floor the contract sets: the hashes they must cause (from
/api/info: the lockout's and the throttle's max_failures, the churn's names) at the cost of a
hash measured first in the same run, plus the real-time waits they must make (INPUT-6's floods,
INPUT-7's hold). The 15 s target applies to the run without them (their case time taken from the
wall time: they run alone, none beside another case); each of them is shown against its floor.
Cases that wait run beside the others on a live target, so the cases' seconds add up to more
than the wall time there.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from rich.table import Table

from conformance.api import tls_context
from conformance.attack import throttle_of
from conformance.cases import test_enumeration, test_flood, test_throttle
from conformance.harness.embedded import CountedPasswords, embedded_target
from conformance.load import FLOOD_S, PROBE_LIMIT_S
from conformance.runner import run_suite
from conformance.session import Target

TARGETS_S = {"subprocess": 45.0, "embedded": 15.0, "embedded-light": 15.0}
REQUESTS = "requests (the rest)"
# The attack cases added with the contract's rev. 2, after the targets were set: what the rest
# of a run costs is shown beside the whole (the cases run one after another there, none beside).
REV2_ATTACK_CASES = frozenset(
    {
        "test_INPUT_6_login_flood_does_not_starve_others",
        "test_INPUT_7_tricklers_do_not_hold_another_address",
        "test_INPUT_8_http_framing",
        "test_LOCK_8_per_address_throttle",
        "test_LOGIN_3_locked_unknown_name_survives_churn",
    }
)


@dataclass(frozen=True)
class Floor:
    """The least an attack case can take: hashes the contract makes it cause, and real waits."""

    hashes: int
    wait_s: float
    why: str

    def seconds(self, per_hash_s: float) -> float:
        return self.hashes * per_hash_s + self.wait_s


def floors(info: dict[str, Any]) -> dict[str, Floor]:
    """Each rev. 2 attack case's floor, from the target's /api/info."""
    lockout = info.get("lockout") or {}
    per_name = int(lockout.get("max_failures", 5))
    second = per_name if lockout.get("escalation") == "double" else 0
    names = test_enumeration.CHURN_NAMES
    throttle = throttle_of(info)
    limit = throttle.max_failures if throttle else test_throttle.UNSHOWN_BOUND
    hold = test_flood.HOLD_S - PROBE_LIMIT_S
    return {
        "test_LOGIN_3_locked_unknown_name_survives_churn": Floor(
            per_name * (1 + names) + second,
            0.0,
            f"{per_name} failures lock a name (LOCK-1): the locked name and {names} churn "
            f"names{', and its second lock (LOCK-7)' if second else ''}",
        ),
        "test_LOCK_8_per_address_throttle": Floor(
            limit + 2,
            0.0,
            f"the throttle's {limit} failures, one from another address, one after the window",
        ),
        "test_INPUT_6_login_flood_does_not_starve_others": Floor(
            0, 2 * FLOOD_S, f"two floods of {FLOOD_S:.0f} s"
        ),
        "test_INPUT_7_tricklers_do_not_hold_another_address": Floor(
            0, hold, f"the tricklers' hold of {hold:.0f} s"
        ),
        "test_INPUT_8_http_framing": Floor(0, 0.0, "no hash, no wait: its requests only"),
    }


@dataclass
class HashTally:
    """A pytest plugin: the server's hashes during each case (the embedded run is one case at a
    time, so what the hasher counted meanwhile is that case's); and, just before each attack
    case that a floor in hashes bounds, the cost of a hash then (the load of the moment), timed
    outside the case and taken from the run's wall time."""

    passwords: CountedPasswords
    probe_before: frozenset[str] = frozenset()
    per_case: dict[str, int] = field(default_factory=dict)
    per_hash_s: dict[str, float] = field(default_factory=dict)
    probes_s: float = 0.0

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        if item.name in self.probe_before:
            started = time.perf_counter()
            self.per_hash_s[item.name] = min(
                self.passwords.seconds_per_verify(1, rounds=2),
                self.passwords.seconds_per_verify(2, rounds=1),
            )
            self.probes_s += time.perf_counter() - started
        before = self.passwords.count
        try:
            return (yield)
        finally:
            self.per_case[item.name] = self.passwords.count - before


@dataclass
class Hashing:
    """What the in-process server's hasher did in one run, and its cost measured first."""

    serial_s: tuple[float, float]  # a verification alone: before the run, after it
    together_s: tuple[float, float]  # each of two side by side (wall time / 2): the same
    setup: int  # hashes before the suite started (the test accounts' passwords)
    setup_s: float  # seconds of the server's start (in the wall time)
    per_case: dict[str, int]
    info: dict[str, Any]
    probed: dict[str, float]  # the fastest hash just before a case (attack cases with a floor)

    @property
    def per_hash_s(self) -> float:
        """The fastest this machine hashed, one at a time or two side by side, before or after
        the run (a load that comes and goes makes the floor no higher than it can be)."""
        return min(*self.serial_s, *self.together_s)


@dataclass
class Run:
    wall: float
    status: int
    report_dir: Path
    hashing: Hashing | None = None


def _cases(report_dir: Path) -> list[tuple[float, str, str, str]]:
    return [(c["duration"], c["req_id"], c["name"], c["verdict"]) for c in _case_dicts(report_dir)]


def _case_dicts(report_dir: Path) -> list[dict[str, Any]]:
    data = json.loads((report_dir / "conformance.json").read_text())
    return [c for req in data["requirements"].values() for c in req["cases"]]


def categories(cases: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per time category over all cases; what no category claims is "requests"."""
    totals: dict[str, float] = defaultdict(float)
    for case in cases:
        timings = case.get("timings") or {}
        for category, seconds in timings.items():
            totals[category] += seconds
        totals[REQUESTS] += max(0.0, case["duration"] - sum(timings.values()))
    return dict(totals)


def run_subprocess(only: list[str] | None) -> Run:
    report_dir = Path(tempfile.mkdtemp(prefix="conformance-bench-"))
    started = time.perf_counter()
    status, _ = run_suite(None, only=only, report_dir=str(report_dir), quiet=True)
    return Run(time.perf_counter() - started, status, report_dir)


def _info(target: Target) -> dict[str, Any]:
    response = httpx.get(
        f"{target.base_url}/api/info", verify=tls_context(target.profile.verify), timeout=10
    )
    info = response.json()
    return info if isinstance(info, dict) else {}


def run_embedded(only: list[str] | None, light: bool = False) -> Run:
    """In-process, after timing the hasher it is given (the same-run baseline of a hash)."""
    report_dir = Path(tempfile.mkdtemp(prefix="conformance-bench-"))
    passwords = CountedPasswords(light)
    serial, together = [passwords.seconds_per_verify(1)], [passwords.seconds_per_verify(2)]
    hash_bound = frozenset(case for case, floor in floors({}).items() if floor.hashes)
    tally = HashTally(passwords, hash_bound)
    before = passwords.count
    started = time.perf_counter()
    with embedded_target(passwords) as target:
        setup = passwords.count - before  # the test accounts' passwords
        setup_s = time.perf_counter() - started
        info = _info(target)
        status, _ = run_suite(
            target, only=only, report_dir=str(report_dir), quiet=True, plugins=[tally]
        )
    wall = time.perf_counter() - started - tally.probes_s  # the probes are the bench's own
    serial.append(passwords.seconds_per_verify(1))
    together.append(passwords.seconds_per_verify(2))
    hashing = Hashing(
        (serial[0], serial[1]),
        (together[0], together[1]),
        setup,
        setup_s,
        tally.per_case,
        info,
        tally.per_hash_s,
    )
    return Run(wall, status, report_dir, hashing)


def _rev2_time(cases: list[tuple[float, str, str, str]]) -> float:
    return sum(c[0] for c in cases if c[2] in REV2_ATTACK_CASES)


def show(console: Console, name: str, run: Run) -> None:
    wall, status, report_dir = run.wall, run.status, run.report_dir
    cases = _cases(report_dir)
    target = TARGETS_S[name]
    verdict = "within" if wall <= target else "OVER"
    console.print(
        f"[bold]{name}[/]: {wall:.1f} s wall (target {target:.0f} s: {verdict}, "
        f"{wall / target:.2f}x), exit {status}, cases {sum(c[0] for c in cases):.1f} s"
    )
    attack = _rev2_time(cases)
    rest = wall - attack
    console.print(
        f"[bold]{name} without the rev. 2 attack cases[/] (INPUT-6/7/8, LOCK-8, LOGIN-3 churn; "
        f"their {attack:.1f} s taken from the wall time): {rest:.1f} s "
        f"(target {target:.0f} s: {'within' if rest <= target else 'OVER'}, {rest / target:.2f}x)"
    )
    if run.hashing is not None:
        show_hashing(console, name, run.hashing, cases)
    sections: dict[str, float] = defaultdict(float)
    for duration, req_id, _, _ in cases:
        sections[req_id.split("-")[0]] += duration
    table = Table(title=f"{name}: per section")
    table.add_column("Section")
    table.add_column("Time", justify="right")
    for section, total in sorted(sections.items(), key=lambda x: -x[1]):
        table.add_row(section, f"{total:.2f} s")
    console.print(table)
    hashes = run.hashing.per_case if run.hashing is not None else {}
    slow = Table(title=f"{name}: slowest cases")
    for column in ("Time", "Hashes", "Requirement", "Case", "Verdict"):
        slow.add_column(column)
    for duration, req_id, case, verdict in sorted(cases, reverse=True)[:12]:
        slow.add_row(f"{duration:.2f} s", str(hashes.get(case, "")), req_id, case, verdict)
    console.print(slow)
    spent = Table(title=f"{name}: time categories (summed over cases)")
    spent.add_column("Category")
    spent.add_column("Time", justify="right")
    spent.add_column("Slowest case", justify="left")
    dicts = _case_dicts(report_dir)
    for category, total in sorted(categories(dicts).items(), key=lambda x: -x[1]):
        worst = max(dicts, key=lambda c: (c.get("timings") or {}).get(category, 0.0))
        seconds = (worst.get("timings") or {}).get(category, 0.0)
        where = f"{worst['req_id']} {seconds:.2f} s" if seconds else ""
        spent.add_row(category, f"{total:.2f} s", where)
    console.print(spent)


def show_hashing(
    console: Console, name: str, hashing: Hashing, cases: list[tuple[float, str, str, str]]
) -> None:
    """The hashes per case, and each attack case against its floor."""
    per_case = hashing.per_case
    rest = {case: n for case, n in per_case.items() if case not in REV2_ATTACK_CASES}
    per_hash = hashing.per_hash_s
    ms = "/".join(f"{s * 1000:.0f}" for s in hashing.serial_s)
    ms_two = "/".join(f"{s * 1000:.0f}" for s in hashing.together_s)
    console.print(
        f"{name}: a verification took {ms} ms alone, {ms_two} ms each two side by side (before/"
        f"after the run, through a hashing pool like the server's); hashes: {hashing.setup} in "
        f"the server's set-up ({hashing.setup_s:.1f} s of the wall time), "
        f"{sum(per_case.values())} in the run, {sum(rest.values())} of them outside the rev. 2 "
        f"attack cases ({sum(rest.values()) * per_hash:.1f} s at {per_hash * 1000:.0f} ms)"
    )
    heavy = Table(title=f"{name}: password hashes per case (outside the rev. 2 attack cases)")
    for column in ("Hashes", "Time", "Case"):
        heavy.add_column(column)
    durations = {case: duration for duration, _, case, _ in cases}
    requirements = {case: req_id for _, req_id, case, _ in cases}
    for case, n in sorted(rest.items(), key=lambda x: -x[1])[:12]:
        heavy.add_row(str(n), f"{durations.get(case, 0.0):.2f} s", case)
    console.print(heavy)
    table = Table(title=f"{name}: the rev. 2 attack cases against their floor")
    for column in ("Requirement", "Time", "Hashes", "Floor", "Ratio"):
        table.add_column(column)
    total_time = total_floor = 0.0
    reasons = []
    for case, floor in floors(hashing.info).items():
        if case not in durations:
            continue
        seconds, least = durations[case], floor.seconds(hashing.probed.get(case, per_hash))
        total_time += seconds
        total_floor += least
        at = hashing.probed.get(case, per_hash) * 1000
        parts = [f"{floor.hashes} x {at:.0f} ms"] if floor.hashes else []
        parts += [f"{floor.wait_s:.0f} s"] if floor.wait_s else []
        table.add_row(
            requirements.get(case, case),
            f"{seconds:.2f} s",
            str(per_case.get(case, "")),
            f"{least:.2f} s ({' + '.join(parts) or 'none'})",
            f"{seconds / least:.2f}x" if least else "",
        )
        reasons.append(f"{requirements.get(case, case)}: {floor.why}")
    console.print(table)
    console.print(
        "Floors (each hash at the fastest cost timed just before the case, alone or two side "
        "by side): " + "; ".join(reasons)
    )
    if total_floor:
        console.print(
            f"{name}: the rev. 2 attack cases took {total_time:.1f} s against a floor of "
            f"{total_floor:.1f} s ({total_time / total_floor:.2f}x)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.bench", description=__doc__)
    parser.add_argument("--only", help="comma-separated requirement IDs")
    parser.add_argument("--skip-subprocess", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--skip-light", action="store_true", help="no light-argon2 run")
    options = parser.parse_args(argv)
    only = [p.strip() for p in options.only.split(",")] if options.only else None
    console = Console(highlight=False)
    results: dict[str, Run] = {}
    if not options.skip_subprocess:
        results["subprocess"] = run_subprocess(only)
    if not options.skip_embedded:
        results["embedded"] = run_embedded(only)
        if not options.skip_light:
            results["embedded-light"] = run_embedded(only, light=True)
    for name, run in results.items():
        show(console, name, run)
    walls = {name: run.wall for name, run in results.items()}
    for a, b in (("subprocess", "embedded"), ("embedded", "embedded-light")):
        if a in walls and b in walls:
            console.print(f"{a} / {b} wall time: {walls[a] / walls[b]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
