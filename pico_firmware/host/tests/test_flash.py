"""flash: the exact files and mpremote command lines, checked without a board; the .mpy files
it would deploy are compiled for real and imported by the MicroPython Unix port."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pico_firmware.host import flash

MICROPYTHON = shutil.which("micropython", path=str(Path(sys.executable).parent))


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    host = ("emulated.py", "tfa/framebuf_display.py", "tfa/png.py")
    for rel in ("main.py", "board.py", "tfa/ui.py", "tfa/auth.py", *host):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("X = 1\n")
    (root / "tfa/__pycache__").mkdir()
    (root / "tfa/__pycache__/ui.py").write_text("")
    return root


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    d = tmp_path / "board"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"tls": {"cert": "/cert.der", "key": "/key.der"}}))
    for name in ("users.json", "cert.der", "key.der", "ca.pem", "board.toml"):
        (d / name).write_text("x")
    return d


def test_firmware_files_leave_out_the_emulator_and_caches(src: Path) -> None:
    assert flash.firmware_files(src) == ["board.py", "main.py", "tfa/auth.py", "tfa/ui.py"]


def test_the_host_only_modules_exist() -> None:
    """Each HOST_ONLY name is a real module: a rename cannot put it back on the board."""
    for rel in flash.HOST_ONLY:
        assert (flash.SRC / rel).is_file(), rel


def test_firmware_without_main_is_refused(tmp_path: Path) -> None:
    (tmp_path / "board.py").write_text("")
    with pytest.raises(flash.FlashError, match="main.py"):
        flash.firmware_files(tmp_path)


def test_config_files_are_the_board_ones_only(config_dir: Path) -> None:
    # the target profile and the CA stay on the host
    assert flash.config_files(config_dir) == ["config.json", "users.json", "cert.der", "key.der"]
    (config_dir / "config.json").write_text(json.dumps({"tls": None}))
    assert flash.config_files(config_dir) == ["config.json", "users.json"]


def test_incomplete_config_is_refused(config_dir: Path) -> None:
    (config_dir / "key.der").unlink()
    with pytest.raises(flash.FlashError, match="key.der"):
        flash.config_files(config_dir)
    (config_dir / "config.json").write_text("{nope")
    with pytest.raises(flash.FlashError, match="not JSON"):
        flash.config_files(config_dir)
    (config_dir / "config.json").unlink()
    with pytest.raises(flash.FlashError, match="no config.json"):
        flash.config_files(config_dir)


def test_the_exact_plan(src: Path, config_dir: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    files = flash.firmware_files(src)
    p = flash.plan(files, src, build, "/dev/ttyACM0", config_dir, flash.config_files(config_dir))
    mc = ["mpy-cross", "-O3"]
    assert p.compile == [
        [*mc, "-o", f"{build}/board.mpy", "-s", "board", f"{src}/board.py"],
        [*mc, "-o", f"{build}/tfa/auth.mpy", "-s", "tfa.auth", f"{src}/tfa/auth.py"],
        [*mc, "-o", f"{build}/tfa/ui.mpy", "-s", "tfa.ui", f"{src}/tfa/ui.py"],
    ]  # fmt: skip
    c = ["mpremote", "connect", "/dev/ttyACM0"]
    assert p.deploy == [
        [*c, "exec", flash.clean_script(["board.py", "tfa/auth.py", "tfa/ui.py"])],
        [*c, "fs", "cp", "-r", f"{build}/tfa", ":"],
        [*c, "fs", "cp", f"{build}/board.mpy", f"{src}/main.py", ":"],
        [*c, "fs", "cp", *[f"{config_dir}/{n}" for n in ("config.json", "users.json", "cert.der",
                                                          "key.der")], ":"],
        [*c, "rtc", "--set"],
        [*c, "reset"],
    ]  # fmt: skip


def test_without_config_or_device(src: Path, tmp_path: Path) -> None:
    p = flash.plan(flash.firmware_files(src), src, tmp_path / "b")
    assert all(line[:3] == ["mpremote", "connect", "auto"] for line in p.deploy)
    assert not any("config.json" in " ".join(line) for line in p.deploy)
    assert p.deploy[-2:] == [
        ["mpremote", "connect", "auto", "rtc", "--set"],
        ["mpremote", "connect", "auto", "reset"],
    ]


def test_main_stays_source_everything_else_is_bytecode(src: Path, tmp_path: Path) -> None:
    p = flash.plan(flash.firmware_files(src), src, tmp_path / "b")
    copied = [arg for line in p.deploy for arg in line if arg.endswith((".py", ".mpy"))]
    assert copied == [f"{tmp_path}/b/board.mpy", f"{src}/main.py"]
    assert not any(line[-1].endswith("main.py") for line in p.compile)


def test_dry_run_prints_and_runs_nothing(
    src: Path, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flash, "SRC", src)
    monkeypatch.setattr(flash, "run", lambda p: pytest.fail("dry run ran the plan"))
    args = ["--dry-run", "--device", "/dev/ttyACM1", "--config", str(config_dir)]
    result = CliRunner().invoke(flash.app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == f"mpy-cross -O3 -o '<build>/board.mpy' -s board {src}/board.py"
    assert lines[-1] == "mpremote connect /dev/ttyACM1 reset"
    assert any(line.endswith(f"{config_dir}/key.der :") for line in lines)
    assert sum(line.startswith("mpy-cross ") for line in lines) == 3  # the 3 modules
    assert sum(line.startswith("mpremote ") for line in lines) == 6


def test_bad_config_dir_exits_2_with_a_message(src: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(flash, "SRC", src)
    result = CliRunner().invoke(flash.app, ["--dry-run", "--config", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "no config.json" in result.output


def test_run_sets_the_rtc_in_utc_and_stops_at_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log"
    fake = tmp_path / "fake"
    fake.write_text(f'#!/bin/sh\necho "$TZ $*" >> {log}\ncase "$*" in *reset*) exit 3;; esac\n')
    fake.chmod(0o755)
    monkeypatch.setattr(flash, "_tool", lambda name: str(fake))
    p = flash.Plan(
        compile=[["mpy-cross", "-o", str(tmp_path / "b/x.mpy"), "-s", "x.py", "x.py"]],
        deploy=[["mpremote", "rtc", "--set"], ["mpremote", "reset"], ["mpremote", "never"]],
    )
    with pytest.raises(flash.FlashError, match=r"reset; is the board connected by USB\?"):
        flash.run(p)
    assert log.read_text().splitlines() == [
        f"UTC -o {tmp_path}/b/x.mpy -s x.py x.py",
        "UTC rtc --set",
        "UTC reset",
    ]
    assert (tmp_path / "b").is_dir()


def test_compiled_firmware_imports_on_micropython(tmp_path: Path) -> None:
    """Run the compile half for real: the .mpy files must load on MicroPython 1.29."""
    if MICROPYTHON is None:
        pytest.fail("micropython (the Unix port) is not installed in the venv")
    mine = ["tfa/" + n for n in ("display.py", "screens.py", "ui.py", "led.py", "buttons.py",
                                 "wifi.py", "clock.py", "events.py")]  # fmt: skip
    build = tmp_path / "build"
    p = flash.plan([*mine, "main.py"], flash.SRC, build)
    for argv in p.compile:
        Path(argv[argv.index("-o") + 1]).parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([flash._tool(argv[0]), *argv[1:]], capture_output=True, check=False)
        assert r.returncode == 0, r.stderr
    assert list(build.rglob("*.py")) == []  # bytecode only; main.py is copied from the source
    script = (
        "import sys\n"
        f"sys.path[:] = [{str(build)!r}, '.frozen']\n"
        "import tfa.ui, tfa.clock, tfa.events, tfa.wifi\n"
        "print(tfa.ui.UI.__name__, tfa.clock.__name__)\n"
    )
    r = subprocess.run(
        [MICROPYTHON, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["UI", "tfa.clock"]
