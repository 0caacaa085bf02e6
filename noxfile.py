"""The front door: every task of the project is a nox session.

Dependencies are pinned once, in pyproject.toml; each session installs the project with the
extras it needs.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

PYTHON = False  # use the interpreter nox runs under: a fresh machine has just one


def _install(session: nox.Session, extras: str = "dev,firmware") -> None:
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """All tests: unit, property, in-process HTTP, real processes, firmware on MicroPython."""
    _install(session)
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the CPython code (the firmware is checked by mpy-cross in the tests)."""
    _install(session, "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def serve(session: nox.Session) -> None:
    """Run the reference server: `nox -s serve -- --port 8443 --profile test ...`."""
    _install(session, "dev")
    session.run("python", "-m", "reference_server", "serve", *session.posargs)
