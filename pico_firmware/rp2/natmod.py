"""The firmware's native PBKDF2 module (natmod/tfa_pbkdf2.c) as a MicroPython .mpy for armv6m.

Built with MicroPython's own recipe for dynamic native modules (py/dynruntime.mk, mpy_ld.py) from
the sources the rp2 build unpacked, with Debian's arm-none-eabi-gcc; cached beside the UF2s by a
hash of the C source. A board without it (or with a MicroPython that refuses it) runs tfa.pbkdf2's
pure-Python loop: same results, ~3.5x slower.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NATMOD = Path(__file__).resolve().parent / "natmod"
NAME = "tfa_pbkdf2.mpy"  # imported as `tfa_pbkdf2` by tfa.pbkdf2
ARCH = "armv6m"  # Cortex-M0+ (RP2040); the Cortex-M33 of an RP2350 runs it too


def source_hash() -> str:
    h = hashlib.sha256()
    for name in ("Makefile", "tfa_pbkdf2.c"):
        h.update((NATMOD / name).read_bytes())
    return h.hexdigest()[:16]


def built(out: Path) -> Path:
    """Where the module for this C source lives in a build's cache directory."""
    return out / "natmod" / f"{ARCH}-{source_hash()}" / NAME


def build_native(out: Path) -> Path:
    """Build (or find) the module against the MicroPython tree in a build's cache directory."""
    target = built(out)
    if target.is_file():
        return target
    mpy_dir = out / "src" / "micropython"
    if not (mpy_dir / "py" / "dynruntime.mk").is_file():
        raise FileNotFoundError(f"{mpy_dir} has no py/dynruntime.mk (build the firmware first)")
    with tempfile.TemporaryDirectory(prefix="pico-tfa-natmod-") as tmp:
        work = Path(tmp) / "natmod"
        shutil.copytree(NATMOD, work)
        cmd = ["make", "-C", str(work), f"MPY_DIR={mpy_dir}", f"ARCH={ARCH}"]
        cmd.append(f"PYTHON={sys.executable}")  # mpy_ld.py needs pyelftools (firmware extra)
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / NAME, target)
    return target


def cached_native() -> Path | None:
    """The module built for the newest cached firmware build, if there is one."""
    from pico_firmware.rp2.build import cache_root

    found = sorted(
        cache_root().glob(f"*/natmod/{ARCH}-{source_hash()}/{NAME}"),
        key=lambda p: p.stat().st_mtime,
    )
    return found[-1] if found else None
