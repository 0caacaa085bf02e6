"""The firmware on the real MicroPython interpreter: its unit tests, and that it compiles."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pico_firmware.host import emulator as emu
from pico_firmware.host.tests.conftest import REPO, tool

SRC = REPO / "pico_firmware" / "src"
TESTS = REPO / "pico_firmware" / "tests"


def test_micropython_unit_tests_pass() -> None:
    run = subprocess.run(
        [tool("micropython"), str(TESTS / "run.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = run.stdout + run.stderr
    m = re.search(r"(\d+) passed, (\d+) failed", out)
    assert m is not None, out
    assert int(m.group(2)) == 0 and run.returncode == 0, out
    assert int(m.group(1)) >= 60, out  # the suites were found and ran


def test_every_firmware_file_compiles_and_loads(tmp_path: Path) -> None:
    built = emu.compile_firmware(tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in built}
    want = {"main.py"}
    for src in SRC.rglob("*.py"):
        rel = src.relative_to(SRC)
        if rel.as_posix() not in ("main.py", "board.py"):
            want.add(rel.with_suffix(".mpy").as_posix())
    assert names == want
    assert "tfa/auth.mpy" in names and "tfa/http.mpy" in names
    # mpy-cross's output must be loadable by this micropython (same .mpy version)
    probe = "import sys; sys.path.insert(0, '.')\nimport tfa.auth, tfa.http, tfa.server\n"
    probe += "print('loaded', sys.implementation._mpy & 0xff)\n"
    (tmp_path / "probe.py").write_text(probe)
    run = subprocess.run(
        [tool("micropython"), "probe.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    version = int(run.stdout.split()[-1])
    assert (tmp_path / "tfa" / "auth.mpy").read_bytes()[:2] == bytes([ord("M"), version])
