"""An emulated RP2040 running a MicroPython UF2, driven over its raw REPL.

The Node runner (runner/run.mjs, rp2040js) bridges the emulated USB CDC to a loopback TCP port;
mpremote's own serial transport talks to it as `socket://127.0.0.1:PORT`, so the raw REPL here is
mpremote's, and `mpremote connect socket://127.0.0.1:PORT` works on the same port.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

from mpremote.transport_serial import SerialTransport

RUNNER = Path(__file__).resolve().parent / "runner"
BOOTROM = RUNNER / "bootrom" / "rp2040-bootrom-b1.bin"
CLOCK_HZ = 125_000_000


class MachineError(Exception):
    """The emulated board could not start or stopped answering; the message says why."""


def node() -> str | None:
    return shutil.which("node")


def ensure_runner() -> None:
    """Install the runner's pinned rp2040js (package-lock.json) once."""
    if (RUNNER / "node_modules" / "rp2040js").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise MachineError("npm is not installed (Node.js 18+ runs the RP2040 emulator)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=RUNNER, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Machine:
    """One emulated board: `with Machine(uf2, log, fs_image=img) as m: m.run(code)`."""

    def __init__(
        self,
        uf2: Path,
        log: Path,
        fs_image: Path | None = None,
        fs_offset: int = 0x12C000,
        uart0_port: int | None = None,
        wall_clock: bool = False,
    ) -> None:
        self.uf2, self.log, self.fs_image, self.fs_offset = uf2, log, fs_image, fs_offset
        self.uart0_port, self.wall_clock = uart0_port, wall_clock
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.transport: SerialTransport | None = None

    def start(self, timeout: float = 60, raw_repl: bool = True) -> None:
        """Boot the board; with raw_repl (tests, benchmarks) stop whatever main.py runs and
        take its REPL, else leave it serving."""
        exe = node()
        if exe is None:
            raise MachineError("node is not installed (Node.js 18+ runs the RP2040 emulator)")
        ensure_runner()
        cmd = [exe, str(RUNNER / "run.mjs"), "--uf2", str(self.uf2), "--bootrom", str(BOOTROM)]
        cmd += ["--tcp", str(self.port)]
        if self.fs_image is not None:
            cmd += ["--fs-image", str(self.fs_image), "--fs-offset", hex(self.fs_offset)]
        if self.uart0_port is not None:
            cmd += ["--uart0-tcp", str(self.uart0_port)]
        if self.wall_clock:
            cmd += ["--wall-clock"]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while "usb cdc connected" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise MachineError(f"the emulated board did not start: {self.log.read_text()}")
            time.sleep(0.1)
        if not raw_repl:
            return
        self.transport = SerialTransport(f"socket://127.0.0.1:{self.port}", timeout=timeout)
        self.transport.enter_raw_repl(soft_reset=True, timeout_overall=timeout)

    def run(self, code: str, timeout: float = 600) -> str:
        """Run code in the raw REPL; its output, or MachineError with the board's traceback."""
        if self.transport is None:
            raise MachineError("the board is not started")
        out, err = self.transport.exec_raw(code, timeout=timeout)
        if err:
            raise MachineError(err.decode(errors="replace"))
        return out.decode(errors="replace")

    def soft_reset(self) -> None:
        """A fresh interpreter and heap (Ctrl-D in the raw REPL); main.py does not run."""
        if self.transport is not None:
            self.transport.enter_raw_repl(soft_reset=True)

    def stop(self) -> None:
        if self.transport is not None:
            with contextlib.suppress(OSError):
                self.transport.close()
            self.transport = None
        stop_process(self.proc)

    def __enter__(self) -> Machine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process(proc: subprocess.Popen | None) -> None:
    """Terminate a child (the runner, the link) and reap it; kill it when it will not go."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
