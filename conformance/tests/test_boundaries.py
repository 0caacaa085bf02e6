"""The suite stands apart from what it judges: only conformance/harness/ knows the reference
server, the spec travels with the suite as package data, nothing points outside the repository."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "conformance"
MAY_IMPORT_THE_SERVER = (SUITE / "harness", SUITE / "tests")  # tests: the mutants are built there


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def test_only_the_harness_imports_the_reference_server():
    offenders = {}
    for path in sorted(SUITE.rglob("*.py")):
        if any(path.is_relative_to(allowed) for allowed in MAY_IMPORT_THE_SERVER):
            continue
        server = sorted(m for m in imported_modules(path) if m.split(".")[0] == "reference_server")
        if server:
            offenders[str(path.relative_to(ROOT))] = server
    assert not offenders, f"only conformance/harness/ may import reference_server: {offenders}"


def test_the_import_check_sees_every_form_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import reference_server.tls\n"
        "from reference_server.embedded import EmbeddedServer\n"
        "def f():\n    import importlib\n    importlib.import_module('reference_server.cli')\n"
    )
    assert {"reference_server.tls", "reference_server.embedded", "reference_server.cli"} <= (
        imported_modules(module)
    )


def test_the_package_list_misses_no_package():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = {
        name
        for name in find_namespace_packages(
            str(ROOT), include=["client*", "conformance*", "pico_firmware*", "reference_server*"]
        )
        if (ROOT / name.replace(".", "/") / "__init__.py").exists()
    }
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert setuptools["package-dir"] == {"conformance.spec": "spec"}
    assert "conformance.spec" in listed


OUTSIDE = ("CONTRACT.md", "../shared", "/work/")


def test_nothing_refers_to_a_file_outside_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout (an installed suite has no repository to check)")
    this = Path(__file__).relative_to(ROOT).as_posix()
    hits = []
    for name in tracked.stdout.splitlines():
        path = ROOT / name
        if name == this or not path.is_file() or path.suffix in (".png", ".der", ".mpy"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [f"{name}: {needle}" for needle in OUTSIDE if needle in text]
    assert not hits, hits


@pytest.mark.slow
def test_an_installed_suite_runs_outside_a_checkout(tmp_path):
    """`pip install .` from a copy (a wheel, not editable), then the suite from another directory:
    the requirement matrix, and a default run (the harness starts the installed reference
    server)."""
    copy = tmp_path / "copy"
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes(source.read_bytes())
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(copy)], check=True)
    # A fresh environment: the wheel in its own site-packages, the dependencies from this one.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    wheel = next(wheels.glob("pico_tfa-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", site, str(wheel)], check=True)
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def suite(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "-m", "conformance", "server", *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    where = subprocess.run(
        [python, "-c", "import conformance; print(conformance.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(site), f"the suite came from {where}, not the installed wheel"
    listed = suite("--list-requirements")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "TOTP-4" in listed.stdout and "requirements," in listed.stdout
    run = suite("--only", "INFO-1,INPUT-5", "--report-dir", str(elsewhere / "reports"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (elsewhere / "reports" / "conformance.json").exists()
