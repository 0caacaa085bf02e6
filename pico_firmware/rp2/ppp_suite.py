"""The conformance suite against the real rp2 firmware binary, over PPP on its emulated UART0.

`python -m pico_firmware.rp2.ppp_suite [--long] [--report-dir DIR]`

A board is provisioned as a real one is (pico_firmware.host.provision: config, users,
certificate, target profile), its LittleFS made as `nox -s flash` would leave it, main.py
included, and the RPI_PICO_W_PPP UF2 boots in rp2040js with its clock tied to the wall clock.
The board's board.py brings up PPP on UART0; pico_firmware.rp2.link answers it in a network
namespace of its own, serves it SNTP and forwards a loopback port to its port 443. Once
/api/info says the board's clock is synced, the suite judges https://127.0.0.1:PORT: the
binary's own lwIP, mbedTLS, HTTP edge, auth and LittleFS store.

Without --long: the smoke subset (SMOKE). With --long: every requirement, wall time printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import tomli_w

from pico_firmware.host import provision
from pico_firmware.rp2 import build, fs, link, suite
from pico_firmware.rp2.machine import Machine, free_port

BOARD = "RPI_PICO_W_PPP"
SMOKE = ("INFO-1", "LOGIN-1", "TOTP-2", "TOTP-4", "LOCK-1", "SESS-2")
ACCOUNTS = 8  # the suite runs without waiting for locks with 8 (conformance.profile)
HOSTNAME = "pico-tfa-ppp.local"
# The emulated CPU runs at ~0.3x while the board's RTC keeps wall time: a TLS handshake takes
# ~2.2 s of wall time and a login ~2 s more (PBKDF2), one connection at a time, each closed
# after its answer, so a request waits for those queued before it. The test profile's 5 s
# timers (RTC seconds) would expire between two requests, so this board's test profile is
# longer (still "test": it only shortens production's timers), and the suite's requests may
# take as long as a queue of handshakes does. The board's own deadlines (idle timeout, a
# connection's wait for its turn) count its timer's ticks, which keep pace with its CPU.
TIMERS = {"lockout_s": 30, "session_ttl_s": 120, "challenge_ttl_s": 60}
REQUEST_TIMEOUT_S = 60
# an interrupted suite writes its reports so far (pytest's KeyboardInterrupt); then it is killed
SUITE_GRACE_S = 30


class Stopped(BaseException):
    """SIGINT or SIGTERM: the run unwinds, and stops the runner, the link and the suite (a
    BaseException, as KeyboardInterrupt is, so that no `except Exception` on the way keeps it)."""


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Stopped in the main thread, also where the process was started
    in the background by a script (its shell leaves SIGINT ignored, and `kill -INT` did
    nothing): a --long run takes hours, and must stop with its children when asked to."""

    def stop(signum: int, frame: object) -> None:
        raise Stopped(signal.Signals(signum).name)

    before = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def judge(argv: Sequence[str], grace: float = SUITE_GRACE_S) -> int:
    """Run the suite's process to its end; when stopped, interrupt it (it writes the reports of
    what it judged so far), and kill it if it has not ended within `grace` seconds. In a group
    of its own, so that a terminal's Ctrl-C reaches it once, from here."""
    child = subprocess.Popen(argv, process_group=0)
    try:
        return child.wait()
    except Stopped:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(grace)
        raise
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@dataclass
class Outcome:
    verdicts: dict[str, str]  # requirement ID -> verdict
    exit_status: int
    seconds: float  # the suite's wall time
    boot_s: float  # runner start to the board's clock synced over PPP
    handshake_s: float  # one TLS handshake and GET /api/info through the link
    report_dir: Path


def provision_board(out: Path) -> provision.Provisioned:
    """A test-profile board whose NTP server is the link's end of PPP."""
    p = provision.provision(
        hostname=HOSTNAME,
        wifi_ssid="ppp",  # unused: the PPP firmware links over UART0
        wifi_password="",
        conformance_accounts=ACCOUNTS,
        profile="test",
        ip="127.0.0.1",  # in the certificate: the suite reaches the board through the forward
        ntp_host=str(link.LOCAL),
    )
    p.config.update(TIMERS)
    provision.write(p, out, force=True)  # a fresh board each run, also in a kept --work-dir
    return p


def console(port: int, log: Path, stop: threading.Event) -> threading.Thread:
    """The board's USB console (main.py's prints) copied into a log, to explain a failure."""

    def copy() -> None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)) as s:
            s.settimeout(0.5)
            with log.open("ab") as f:
                while not stop.is_set():
                    try:
                        data = s.recv(4096)
                    except TimeoutError:
                        continue
                    if not data:
                        break
                    f.write(data)
                    f.flush()

    t = threading.Thread(target=copy, daemon=True)
    t.start()
    return t


def wait_synced(base_url: str, ca: Path, timeout: float) -> float:
    """Until /api/info answers with time_synced true; the last request's seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            r = httpx.get(
                f"{base_url}/api/info", verify=ssl.create_default_context(cafile=ca), timeout=30
            )
            if r.status_code == 200 and r.json().get("time_synced"):
                return time.monotonic() - start
            last = r.status_code, r.text[:200]
        except httpx.HTTPError as e:
            last = e
        time.sleep(1)
    raise link.LinkError(f"{base_url}/api/info not synced within {timeout:.0f} s: {last!r}")


def run(
    uf2: Path,
    tmp: Path,
    only: tuple[str, ...] | None = SMOKE,
    long: bool = False,
    report_dir: Path | None = None,
    boot_timeout: float = 240,
    trace: bool = False,
) -> Outcome:
    """Boot the PPP board, link it, run the suite; the report's verdicts and the timings."""
    board = tmp / "board"
    provision_board(board)
    image = fs.firmware_image(
        BOARD,
        tmp / "build",
        board,
        mpy_cross=suite.mpy_cross_for(uf2),
        native=suite.natives_for(uf2),
    )
    image.save(tmp / "lfs.bin")
    uart = free_port()
    started = time.monotonic()
    stop = threading.Event()
    machine = Machine(
        uf2, tmp / "runner.log", tmp / "lfs.bin", fs.GEOMETRY[BOARD].offset, uart, True
    )
    with contextlib.ExitStack() as stack:
        # each stop is registered before its start: a signal may land while it starts
        stack.callback(machine.stop)
        machine.start(raw_repl=False)
        stack.callback(stop.set)
        console(machine.port, tmp / "console.log", stop)
        ppp = link.Link(uart, tmp / "link.log", trace=trace)
        stack.callback(ppp.stop)
        ppp.start()
        base_url = f"https://127.0.0.1:{ppp.port}"
        ppp.wait_up(boot_timeout)
        handshake = wait_synced(base_url, board / "ca.pem", boot_timeout)
        boot = time.monotonic() - started
        target = tomllib_load(board / "board.toml")
        target["base_url"] = base_url
        target["ca_cert"] = str(board / "ca.pem")
        target["timeout_s"] = REQUEST_TIMEOUT_S
        profile = tmp / "target.toml"
        profile.write_text(tomli_w.dumps(target))
        profile.chmod(0o600)
        reports = report_dir or tmp / "reports"
        argv = [sys.executable, "-m", "conformance", "server", "--target-profile", str(profile)]
        argv += ["--report-dir", str(reports)]
        if only:
            argv += ["--only", ",".join(only)]
        if long:
            argv += ["--long"]
        begun = time.monotonic()
        status = judge(argv)
        seconds = time.monotonic() - begun
    report = json.loads((reports / "conformance.json").read_text())
    verdicts = {rid: r["verdict"] for rid, r in report["requirements"].items()}
    return Outcome(verdicts, status, seconds, boot, handshake, reports)


def tomllib_load(path: Path) -> dict:
    import tomllib

    return tomllib.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pico_firmware.rp2.ppp_suite", description=__doc__)
    p.add_argument("--long", action="store_true", help="the full suite (not only the smoke subset)")
    p.add_argument(
        "--only", metavar="IDS", help="comma-separated requirement IDs instead of the smoke subset"
    )
    p.add_argument("--report-dir", type=Path, help="where the suite's reports go")
    p.add_argument(
        "--work-dir",
        type=Path,
        help="keep the board's files and the logs (runner, console, link) here, not in a temp dir",
    )
    p.add_argument("--trace", action="store_true", help="the link logs a line per TCP segment")
    args = p.parse_args(argv)
    uf2 = build.cached_uf2(BOARD)
    if uf2 is None:
        print(f"ppp suite: no {BOARD} UF2 (nox -s firmware-build first)", file=sys.stderr)
        return 2
    why = link.unavailable()
    if why:
        print(f"ppp suite: {why}", file=sys.stderr)
        return 2
    began = time.monotonic()
    with stopped_by_signals(), contextlib.ExitStack() as stack:
        if args.work_dir is not None:
            args.work_dir.mkdir(parents=True, exist_ok=True)
            tmp = args.work_dir
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pico-tfa-ppp-")))
        only = tuple(args.only.split(",")) if args.only else None if args.long else SMOKE
        try:
            o = run(uf2, tmp, only, args.long, args.report_dir, trace=args.trace)
        except Stopped as e:
            print(f"ppp suite: stopped by {e} after {time.monotonic() - began:.1f} s; the "
                  "board, the link and the suite are stopped", file=sys.stderr)  # fmt: skip
            return 128 + signal.Signals[str(e)].value
        print(f"board up and synced over PPP in {o.boot_s:.1f} s; one TLS handshake + "
              f"GET /api/info {o.handshake_s:.2f} s")  # fmt: skip
        for rid, verdict in sorted(o.verdicts.items()):
            print(f"  {rid}: {verdict}")
        print(f"suite wall time: {o.seconds:.1f} s (exit status {o.exit_status}); with the "
              f"board's boot: {time.monotonic() - began:.1f} s")  # fmt: skip
    return o.exit_status


if __name__ == "__main__":
    sys.exit(main())
