"""The firmware's own tests (pico_firmware/tests) on the emulated RP2040, one module per soft reset.

`python -m pico_firmware.rp2.suite [test_x ...]` prints each module's result and heap figures.

The board's LittleFS holds what `nox -s flash` deploys (less main.py, so it boots to the REPL),
plus the tests as .mpy under /tests and the one host-only firmware module a test draws with.
Each module runs in a fresh interpreter (a soft reset), as tests/run.py runs it on the Unix port.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pico_firmware.host import flash
from pico_firmware.rp2 import build, fs, natmod
from pico_firmware.rp2.machine import Machine

TESTS = Path(__file__).resolve().parents[1] / "tests"
BOARD = "RPI_PICO_W"
# what the board cannot run: the Unix port's adapters are never on a board
HOST_ONLY_TESTS = {"test_emulated": "emulated.py (the Unix port's adapters) is host-only"}
# host-only firmware modules the tests need (test_firmware draws into a framebuf display)
TEST_EXTRAS = ("tfa/framebuf_display.py",)

# Each module starts with an empty /tmp, as a fresh TMPDIR: the tests leave their scratch
# directories behind, and on LittleFS a directory costs a metadata pair (2 blocks, 8 KiB) of the
# board's 212, so one module's leftovers could fill the filesystem for the next.
PROBE = """
import gc, os, sys
def _empty(path):
    for entry in os.ilistdir(path):
        sub = path + '/' + entry[0]
        if entry[1] == 0x4000:
            _empty(sub)
            os.rmdir(sub)
        else:
            os.remove(sub)
try:
    _empty('/tmp')
except OSError:
    pass
sys.path.insert(0, '/tests')
gc.collect()
_base = gc.mem_alloc()
import run
_failed = run.main([{name!r}])
_inuse = gc.mem_alloc()
gc.collect()
print('HEAP', _base, _inuse, gc.mem_alloc(), gc.mem_free())
"""


@dataclass
class ModuleResult:
    name: str
    passed: int
    failed: int
    heap_in_use: int  # bytes allocated when the module's tests ended, garbage included
    heap_live: int  # ... after a collection, with the module still loaded
    output: str


@dataclass
class SuiteResult:
    heap_free_after_boot: int
    modules: list[ModuleResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(m.passed for m in self.modules)

    @property
    def failed(self) -> int:
        return sum(m.failed for m in self.modules)


def test_modules() -> list[str]:
    return sorted(p.stem for p in TESTS.glob("test_*.py") if p.stem not in HOST_ONLY_TESTS)


def mpy_cross_for(uf2: Path) -> str:
    """The mpy-cross built beside the UF2 (the same MicroPython version)."""
    return str(uf2.parents[1] / "mpy-cross")


def natives_for(uf2: Path) -> list[Path]:
    """The native modules built beside the UF2 (what `nox -s flash` would deploy with it)."""
    found = natmod.built(uf2.parents[1])
    return [found] if found.is_file() else []


def compile_to(
    image: fs.Image, mpy_cross: str, src: Path, dest: str, tmp: Path, opt: Sequence[str] = ()
) -> None:
    out = tmp / dest
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [mpy_cross, *opt, "-o", str(out), "-s", Path(dest).stem, str(src)]
    subprocess.run(cmd, check=True, capture_output=True)
    image.put(dest, out.read_bytes())


def test_image(board: str, mpy_cross: str, tmp: Path, natives: Sequence[Path] = ()) -> fs.Image:
    image = fs.firmware_image(
        board, tmp / "firmware", mpy_cross=mpy_cross, boot=False, native=natives
    )
    for rel in TEST_EXTRAS:
        src = flash.SRC / rel
        compile_to(image, mpy_cross, src, flash.mpy_name(rel), tmp / "extra", [flash.MPY_OPT])
    # the tests without -O: any optimisation level drops assert statements, the tests' checks
    for src in sorted(TESTS.glob("*.py")):
        if src.stem not in HOST_ONLY_TESTS:
            compile_to(image, mpy_cross, src, f"tests/{src.stem}.mpy", tmp / "tests")
    return image


def run_suite(
    uf2: Path, tmp: Path, only: list[str] | None = None, board: str = BOARD
) -> SuiteResult:
    image = test_image(board, mpy_cross_for(uf2), tmp, natives_for(uf2))
    image.save(tmp / "lfs.bin")
    with Machine(uf2, tmp / "runner.log", tmp / "lfs.bin", fs.GEOMETRY[board].offset) as m:
        free = int(m.run("import gc; gc.collect(); print(gc.mem_free())").split()[-1])
        result = SuiteResult(free)
        for name in only or test_modules():
            m.soft_reset()
            out = m.run(PROBE.format(name=name), timeout=900)
            counts = re.search(r"(\d+) passed, (\d+) failed", out)
            heap = re.search(r"HEAP (\d+) (\d+) (\d+) (\d+)", out)
            if counts is None or heap is None:
                result.modules.append(ModuleResult(name, 0, 1, 0, 0, out))
                continue
            base, inuse, live = (int(heap.group(i)) for i in (1, 2, 3))
            result.modules.append(
                ModuleResult(
                    name, int(counts.group(1)), int(counts.group(2)), inuse - base, live, out
                )
            )
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pico_firmware.rp2.suite", description=__doc__)
    p.add_argument("modules", nargs="*", help="test modules (default: all the board can run)")
    args = p.parse_args(argv)
    uf2 = build.cached_uf2(BOARD)
    if uf2 is None:
        print("rp2 suite: no RPI_PICO_W UF2 (nox -s firmware-build first)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pico-tfa-rp2-") as tmp:
        r = run_suite(uf2, Path(tmp), args.modules or None)
    print(f"free heap after boot: {r.heap_free_after_boot:,} B")
    for m in r.modules:
        print(f"{m.name}: {m.passed} passed, {m.failed} failed; heap in use at the end "
              f"{m.heap_in_use:,} B ({m.heap_live:,} B live after collection)")  # fmt: skip
        if m.failed:
            print(m.output)
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
