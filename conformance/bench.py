"""Wall time of a full conformance run, and where it goes.

    python -m conformance.bench [--only IDS] [--skip-subprocess] [--skip-embedded] [--skip-light]

Three runs, measured in the same process: the reference server as a subprocess over HTTPS on
loopback (test profile, real clock: what `nox -s conformance` does); in-process (EmbeddedServer,
production profile, fake clock), with the production argon2id cost (64 MiB, t=3: about 0.1 s a
login here, and a run makes over a hundred); and in-process with the test profile's light
argon2id, which leaves the suite's own cost (the self-tests' setting). Targets: 45 s and 15 s.

Where the time goes: per section, the slowest cases, and per category (timing.py: TOTP step
waits, lockout/TTL waits, account waits, logins, Schemathesis, raw-socket idle, restart; the
rest is plain requests), and the same run's time without the attack cases of the contract's
rev. 2 (INPUT-6/7/8, LOCK-8, the LOGIN-3 churn), which came after the targets: their case time
taken from the wall time (they run alone, none beside another case). Cases that wait run beside
the others on a live target, so the cases' seconds add up to more than the wall time there.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from conformance.harness.embedded import embedded_target
from conformance.runner import run_suite

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


def run_subprocess(only: list[str] | None) -> tuple[float, int, Path]:
    report_dir = Path(tempfile.mkdtemp(prefix="conformance-bench-"))
    started = time.perf_counter()
    status, _ = run_suite(None, only=only, report_dir=str(report_dir), quiet=True)
    return time.perf_counter() - started, status, report_dir


def run_embedded(only: list[str] | None, light: bool = False) -> tuple[float, int, Path]:
    report_dir = Path(tempfile.mkdtemp(prefix="conformance-bench-"))
    started = time.perf_counter()
    with embedded_target(light) as target:
        status, _ = run_suite(target, only=only, report_dir=str(report_dir), quiet=True)
    return time.perf_counter() - started, status, report_dir


def show(console: Console, name: str, wall: float, status: int, report_dir: Path) -> None:
    cases = _cases(report_dir)
    target = TARGETS_S[name]
    verdict = "within" if wall <= target else "OVER"
    console.print(
        f"[bold]{name}[/]: {wall:.1f} s wall (target {target:.0f} s: {verdict}, "
        f"{wall / target:.2f}x), exit {status}, cases {sum(c[0] for c in cases):.1f} s"
    )
    attack = sum(c[0] for c in cases if c[2] in REV2_ATTACK_CASES)
    console.print(
        f"{name} without the rev. 2 attack cases (INPUT-6/7/8, LOCK-8, LOGIN-3 churn; their "
        f"{attack:.1f} s taken from the wall time): {wall - attack:.1f} s, "
        f"{(wall - attack) / target:.2f}x"
    )
    sections: dict[str, float] = defaultdict(float)
    for duration, req_id, _, _ in cases:
        sections[req_id.split("-")[0]] += duration
    table = Table(title=f"{name}: per section")
    table.add_column("Section")
    table.add_column("Time", justify="right")
    for section, total in sorted(sections.items(), key=lambda x: -x[1]):
        table.add_row(section, f"{total:.2f} s")
    console.print(table)
    slow = Table(title=f"{name}: slowest cases")
    for column in ("Time", "Requirement", "Case", "Verdict"):
        slow.add_column(column)
    for duration, req_id, case, verdict in sorted(cases, reverse=True)[:10]:
        slow.add_row(f"{duration:.2f} s", req_id, case, verdict)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.bench", description=__doc__)
    parser.add_argument("--only", help="comma-separated requirement IDs")
    parser.add_argument("--skip-subprocess", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--skip-light", action="store_true", help="no light-argon2 run")
    options = parser.parse_args(argv)
    only = [p.strip() for p in options.only.split(",")] if options.only else None
    console = Console(highlight=False)
    results = {}
    if not options.skip_subprocess:
        results["subprocess"] = run_subprocess(only)
    if not options.skip_embedded:
        results["embedded"] = run_embedded(only)
        if not options.skip_light:
            results["embedded-light"] = run_embedded(only, light=True)
    for name, (wall, status, report_dir) in results.items():
        show(console, name, wall, status, report_dir)
    walls = {name: result[0] for name, result in results.items()}
    for a, b in (("subprocess", "embedded"), ("embedded", "embedded-light")):
        if a in walls and b in walls:
            console.print(f"{a} / {b} wall time: {walls[a] / walls[b]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
