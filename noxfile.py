"""Every task of the project is a nox session: `nox -s NAME -- ARGS` passes ARGS to the module
that owns the task, so it behaves as `python -m MODULE ARGS` does."""

# Dependencies are pinned once, in pyproject.toml. Sessions that need the same things share one
# environment (project_env): the project installed once with its extras, again only when
# pyproject.toml changes, with uv when it is installed and venv + pip otherwise. A new session
# calls run(session, "python", "-m", ...) or project_env(session, extras) for its bin/ folder.

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
if shutil.which("uv") is None:
    # nox looks for uv on every session, whatever its backend, and says so when it is absent;
    # project_env uses venv then, as it should: the line is noise to a new user
    logging.getLogger("nox").addFilter(lambda record: record.getMessage() != "uv binary not found.")

ROOT = Path(__file__).resolve().parent
ALL_EXTRAS = "dev,firmware"
FRONT_DOOR_GOAL_S = 3.0  # a second `nox -s conformance`, before the suite starts


def project_env(session: nox.Session, extras: str = ALL_EXTRAS) -> Path:
    """The environment (its bin/ folder) of every session that needs the project with `extras`,
    made or updated only when pyproject.toml (or `extras`) changed since it was installed."""
    location = ROOT / ".nox" / ("project-" + extras.replace(",", "-"))
    bin_dir = location / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    stamp = location / "installed.sha256"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    installed = stamp.read_text() if stamp.exists() else ""
    if not python.exists() or installed != wanted:
        uv = shutil.which("uv")
        if uv is not None:
            session.run(uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable,
                        str(location), external=True)  # fmt: skip
            install = [uv, "pip", "install", "--quiet", "--python", str(python)]
        else:
            session.run(sys.executable, "-m", "venv", str(location), external=True)
            install = [str(python), "-m", "pip", "install", "--quiet"]
        session.run(*install, "-e", f"{ROOT}[{extras}]", external=True)
        stamp.write_text(wanted)
    return bin_dir


def run(session: nox.Session, *args: str, extras: str = ALL_EXTRAS) -> None:
    """Run a command (python, pytest, ruff, ...) of the project's shared environment."""
    bin_dir = project_env(session, extras)
    program = shutil.which(args[0], path=str(bin_dir)) or args[0]
    env = {
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        "VIRTUAL_ENV": str(bin_dir.parent),
    }
    session.run(program, *args[1:], env=env, external=True)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """All tests: unit, property, in-process HTTP, real processes, firmware on MicroPython.

    ruff runs first: code that is not lint-clean does not count as passing.
    """
    if shutil.which("oathtool") is None:
        session.log(
            "note: the oathtool cross-checks skip without Debian's oathtool "
            "(sudo apt-get install oathtool)"
        )
    run(session, "ruff", "check", ".")
    run(session, "pytest", *session.posargs)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff over the CPython code (the firmware is checked by mpy-cross in the tests)."""
    run(session, "ruff", "check", ".")
    run(session, "ruff", "format", "--check", ".")


@nox.session(venv_backend="none")
def serve(session: nox.Session) -> None:
    """Run the reference server: `nox -s serve -- --port 8443 --self-signed --profile test ...`."""
    run(session, "python", "-m", "reference_server", "serve", *session.posargs)


@nox.session(venv_backend="none")
def conformance(session: nox.Session) -> None:
    """Judge a server: `nox -s conformance -- [--target-profile board.toml] [--report-dir DIR]`.

    Without --target-profile it starts the reference server itself (test profile, HTTPS).
    """
    run(session, "python", "-m", "conformance", "server", *session.posargs)


@nox.session(name="client-conformance", venv_backend="none")
def client_conformance(session: nox.Session) -> None:
    """Judge a third-party client: `nox -s client-conformance -- --command 'CMD ...'`."""
    run(session, "python", "-m", "conformance", "client", *session.posargs)


@nox.session(venv_backend="none")
def emulator(session: nox.Session) -> None:
    """Run the firmware on the MicroPython Unix port: `nox -s emulator -- --port P ...`."""
    run(session, "python", "-m", "pico_firmware.host.emulator", *session.posargs)


@nox.session(venv_backend="none")
def provision(session: nox.Session) -> None:
    """Make a board's configuration (users, certificate, Wi-Fi, target profile)."""
    run(session, "python", "-m", "pico_firmware.host.provision", *session.posargs)


@nox.session(venv_backend="none")
def flash(session: nox.Session) -> None:
    """Deploy the firmware and configuration to a board with mpremote."""
    run(session, "python", "-m", "pico_firmware.host.flash", *session.posargs)


@nox.session(venv_backend="none")
def ppp(session: nox.Session) -> None:
    """The suite against the rp2 firmware binary over PPP: `nox -s ppp -- [--long]`.

    The smoke subset is also a test in `nox -s tests` (test_rp2.py, marked `ppp`)."""
    run(session, "python", "-m", "pico_firmware.rp2.ppp_suite", *session.posargs)


@nox.session(name="firmware-build", venv_backend="none")
def firmware_build(session: nox.Session) -> None:
    """Build MicroPython's rp2 UF2s (RPI_PICO_W, RPI_PICO, RPI_PICO_W_PPP), cached by source hash:
    `nox -s firmware-build -- [--sources-archive TGZ] [--board B]` (or $PICO_TFA_RP2_SOURCES)."""
    run(session, "python", "-m", "pico_firmware.rp2.build", *session.posargs)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Figures and ratios against baselines measured in the same run (never timed unit tests)."""
    front_door(session)
    run(session, "python", "-m", "reference_server.bench", *session.posargs)
    run(session, "python", "-m", "conformance.bench", *session.posargs)
    run(session, "python", "-m", "pico_firmware.host.bench", *session.posargs)
    # the emulator's peak heap over a full conformance run (issue 4's memory target)
    run(session, "python", "-m", "pico_firmware.host.bench", "--suite", *session.posargs)
    # the same firmware on MicroPython's rp2 port in an emulated RP2040 (issue 13; needs a UF2
    # from `nox -s firmware-build`, says so and skips otherwise)
    run(session, "python", "-m", "pico_firmware.rp2.bench", *session.posargs)


def front_door(session: nox.Session) -> None:
    """Issue 12's goals: a second `nox -s conformance` spends <= 3 s before the suite starts
    (measured up to the suite's argument parsing: `-- --help`), and the sessions share one
    environment. The baseline is the same command without nox, in the same run."""
    python = shutil.which("python", path=str(project_env(session)))
    nox_conformance = [sys.executable, "-m", "nox", "-s", "conformance", "--"]
    direct = [str(python), "-m", "conformance", "server"]

    def seconds(command: list[str], runs: int = 3) -> float:
        best = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
            best = min(best, time.perf_counter() - start)
        return best

    before_suite = seconds([*nox_conformance, "--help"])
    baseline = seconds([*direct, "--help"])
    listing = seconds([*nox_conformance, "--list-requirements"], runs=1)
    verdict = "met" if before_suite <= FRONT_DOOR_GOAL_S else "NOT met"
    session.log(
        f"front door: a second `nox -s conformance` reaches the suite in {before_suite:.2f} s "
        f"(goal <= {FRONT_DOOR_GOAL_S:.0f} s: {verdict}; without nox {baseline:.2f} s, "
        f"ratio {before_suite / baseline:.1f}x); `-- --list-requirements` whole: {listing:.2f} s"
    )
    envs = sorted(p.name for p in (ROOT / ".nox").iterdir() if (p / "pyvenv.cfg").exists())
    session.log(f"front door: {len(envs)} environment(s) in .nox/, shared by the sessions: {envs}")
