"""The conformance suite judges the emulator: every MUST passes on the default heap, and the
firmware never runs out of memory on the way.

This is the slowest test here (~2.5 min): the suite's timed cases wait in real time on a
live target (lockouts, expiries, fresh TOTP steps).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pico_firmware.host.tests.conftest import REPO, start_emulator

pytestmark = pytest.mark.slow
ACCOUNTS = "12"  # more accounts: fewer waits for a fresh TOTP step per account


def test_every_must_passes_against_the_emulator(tmp_path: Path) -> None:
    running = start_emulator(tmp_path, "--test-accounts", ACCOUNTS)
    reports = tmp_path / "reports"
    try:
        run = subprocess.run(
            [sys.executable, "-m", "conformance", "server"]
            + ["--target-profile", str(running.profile_path), "--report-dir", str(reports)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        rc = running.stop()
    output = running.output()
    assert "MemoryError" not in output, output
    assert rc == 0, output
    report = json.loads((reports / "conformance.json").read_text())
    requirements = report["requirements"]
    items = requirements.values() if isinstance(requirements, dict) else requirements
    # Only requirements with a case (rev. 2's INPUT-6/7/8 and LOCK-8 get theirs on another
    # branch; once merged, drop the `r["cases"]` condition).
    musts = [r for r in items if r["level"] == "MUST" and r["cases"]]
    assert len(musts) >= 30, run.stdout[-3000:]
    failed = [
        (r["cases"][0]["req_id"], r.get("reason", "")) for r in musts if r["verdict"] != "passed"
    ]
    assert not failed, "\n".join(f"{rid}: {why[:300]}" for rid, why in failed)
