"""`python -m pico_firmware.host.bench [--suite]`: the emulator's memory and speed, printed.

Starts the emulator (default heap, HTTPS), drives a conformance-like workload through it
(full logins, wrong passwords and codes up to lockouts, bad bodies, oversize bodies and
headers, parallel requests), then prints:
- the firmware's peak heap in use (live objects after a collection at each request's
  busiest point, reported by /api/info "server.heap_peak") against the budget;
- request latency per endpoint (median, p95), and the same for a baseline GET /api/info;
- PBKDF2 iterations/s of the firmware's own pbkdf2 on the Unix port, and the estimated
  login time on an RP2040 at 125 MHz (x params.HOST_TO_RP2040, see tfa/params.py);
- INPUT-7: the latency (p50, max) of a client at 127.0.0.2 while 8 tricklers from
  127.0.0.1 hold on (each sends one byte, holds, and reconnects when dropped), against a
  baseline without them in the same run (goal: max <= 10 s);
- STORE-3: flash wear of writing each failure before its 401: the firmware's tfa.lockout
  on LittleFS (MicroPython's own VfsLfs2) over a RAM block device shaped like a Pico W's
  filesystem (4096-byte blocks, 212 of them, ~200 KB of it held by other files), counting
  block erases.

With --suite it runs the whole conformance suite against the emulator (12 accounts, as the
firmware's conformance test does) instead of the workload, and prints the suite's verdict
and the peak heap in use over the run: the largest of every firmware run's peak (LOCK-6
restarts the firmware; each run prints its own peak when it stops).
"""

from __future__ import annotations

import argparse
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyotp

from pico_firmware.host import emulator as emu
from pico_firmware.host import provision

BUDGET_TARGET = 150 * 1024
TRICKLERS = 8
TRICKLE_GOAL_S = 10.0
ERASE_CYCLES = 100_000  # a typical rating for the Pico W's QSPI NOR flash
FS_BLOCKS = 212  # ~848 KB of 4096-byte blocks: the Pico W's MicroPython filesystem


def pbkdf2_rate(iterations: int = 4000) -> float:
    """Iterations per second of tfa.pbkdf2 on the MicroPython Unix port."""
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(emu.FIRMWARE)!r})\n"
        "from tfa.pbkdf2 import pbkdf2_sha256\n"
        "t = time.ticks_us()\n"
        f"pbkdf2_sha256(b'password', b'saltsaltsaltsalt', {iterations})\n"
        "print(time.ticks_diff(time.ticks_us(), t))\n"
    )
    out = subprocess.run(
        [emu.tool("micropython"), "-c", code], capture_output=True, text=True, check=True
    )
    return iterations / (int(out.stdout.split()[-1]) / 1e6)


# the firmware's lockout table on LittleFS over a RAM block device that counts erases
# (a block written whole, without an offset, is an erase and a program on real flash)
_WEAR = """
import os, sys, vfs
sys.path.insert(0, %r)
from tfa.lockout import Lockout

class Flash:
    def __init__(self, n):
        self.n = n
        self.data = bytearray(4096 * n)
        self.erased = [0] * n

    def readblocks(self, b, buf, off=0):
        a = b * 4096 + off
        buf[:] = self.data[a : a + len(buf)]

    def writeblocks(self, b, buf, off=None):
        a = b * 4096 + (off or 0)
        self.data[a : a + len(buf)] = buf
        if off is None:
            self.erased[b] += 1

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return 4096
        if op == 6:
            self.erased[arg] += 1
            return 0

flash = Flash(%d)
vfs.VfsLfs2.mkfs(flash)
vfs.mount(vfs.VfsLfs2(flash), "/flash")
os.mkdir("/flash/state")
with open("/flash/static.bin", "wb") as f:  # what else a board keeps: firmware, logs (~200 KB)
    for _ in range(50):
        f.write(bytes(4096))
table = Lockout("/flash/state/lockout", os.urandom)
before = sum(flash.erased)
most = list(flash.erased)
for k in range(%d):
    i, until, fails, level = table.get("name%%d" %% k)
    table.put(i, until, (fails + 1) %% 5, level)
print(sum(flash.erased) - before, max(e - m for e, m in zip(flash.erased, most)))
"""


def flash_wear(failures: int = 5000) -> tuple[float, float]:
    """(block erases per failure, erases of the most-erased block per failure)."""
    code = _WEAR % (str(emu.FIRMWARE), FS_BLOCKS, failures)
    out = subprocess.run(
        [emu.tool("micropython"), "-X", "heapsize=8M", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    total, worst = (int(n) for n in out.stdout.split())
    return total / failures, worst / failures


class Tricklers:
    """k connections that each send one byte and hold; each reconnects when it is dropped."""

    def __init__(self, address: tuple[str, int], k: int, source: str = "127.0.0.1") -> None:
        self.address = address
        self.source = source
        self.stop = threading.Event()
        self.connections = 0
        self.threads = [threading.Thread(target=self._one, daemon=True) for _ in range(k)]

    def _one(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(
                    self.address, timeout=0.5, source_address=(self.source, 0)
                ) as s:
                    self.connections += 1
                    s.sendall(b"\x16")  # a TLS handshake record's first byte, and no more
                    while not self.stop.is_set():
                        try:
                            if s.recv(1) == b"":
                                break
                        except TimeoutError:
                            continue
            except OSError:
                time.sleep(0.1)

    def __enter__(self) -> Tricklers:
        for t in self.threads:
            t.start()
        time.sleep(1)  # they hold the slot and the waiting places before the client comes
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(5)


def address(profile: dict) -> tuple[str, int]:
    host, port = profile["base_url"].rsplit("/", 1)[1].rsplit(":", 1)
    return host.strip("[]"), int(port)


def other_client(profile: dict, source: str = "127.0.0.2") -> httpx.Client:
    """A client at another loopback address than the tricklers' (INPUT-7)."""
    verify: ssl.SSLContext | bool = True
    if "ca_cert" in profile:
        verify = ssl.create_default_context(cafile=profile["ca_cert"])
    transport = httpx.HTTPTransport(verify=verify, local_address=source)
    return httpx.Client(base_url=profile["base_url"], transport=transport, timeout=60)


def trickle_latency(profile: dict, n: int = 8) -> tuple[list[float], list[float], int]:
    """Seconds for GET /api/info (a new connection each) from 127.0.0.2: n alone, then n
    while TRICKLERS tricklers from 127.0.0.1 hold on; and how many connections they made."""

    def timed() -> list[float]:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            with other_client(profile) as c:
                c.get("/api/info").raise_for_status()
            out.append(time.perf_counter() - t)
            time.sleep(0.2)
        return out

    alone = timed()
    with Tricklers(address(profile), TRICKLERS) as attack:
        attacked = timed()
    return alone, attacked, attack.connections


class Workload:
    def __init__(self, profile: dict) -> None:
        self.profile = profile
        verify = ssl.create_default_context(cafile=profile["ca_cert"])
        self.client = httpx.Client(base_url=profile["base_url"], verify=verify, timeout=30)
        self.times: dict[str, list[float]] = defaultdict(list)

    def call(self, name: str, method: str, path: str, **kw: object) -> httpx.Response:
        t = time.perf_counter()
        r = self.client.request(method, path, **kw)  # type: ignore[arg-type]
        self.times[name].append(time.perf_counter() - t)
        if r.status_code >= 500 and r.status_code != 503:
            raise SystemExit(f"bench: {method} {path} answered {r.status_code}: {r.text}")
        return r

    def login_flow(self, account: dict, backup: str | None = None) -> None:
        r = self.call(
            "login",
            "POST",
            "/api/auth/login",
            json={"username": account["username"], "password": account["password"]},
        )
        if r.status_code != 200:
            return
        tok = r.json()["challenge_token"]
        if backup is None:
            code = pyotp.TOTP(account["totp_secret"]).now()
            body = {"challenge_token": tok, "totp_code": code}
            r = self.call("verify", "POST", "/api/auth/verify", json=body)
        else:  # one TOTP step can be used once per account: later rounds use backup codes
            body = {"challenge_token": tok, "backup_code": backup}
            r = self.call("verify (backup)", "POST", "/api/auth/verify", json=body)
        if r.status_code != 200:
            return
        h = {"Authorization": "Bearer " + r.json()["session_token"]}
        self.call("dashboard", "GET", "/api/dashboard", headers=h)
        self.call("logout", "POST", "/api/auth/logout", headers=h)

    def run(self, rounds: int) -> None:
        accounts = self.profile["accounts"]
        for i in range(rounds):
            self.call("info", "GET", "/api/info")
            self.login_flow(accounts[0], accounts[0]["backup_codes"][i - 1] if i else None)
            victim = accounts[1 + i % (len(accounts) - 1)]["username"]
            for _ in range(6):
                self.call(
                    "login (wrong)",
                    "POST",
                    "/api/auth/login",
                    json={"username": victim, "password": "wrong"},
                )
            self.call(
                "login (unknown)",
                "POST",
                "/api/auth/login",
                json={"username": f"ghost-{i}", "password": "x"},
            )
            self.call("bad json", "POST", "/api/auth/login", content=b"{", headers=_JSON)
            self.call("413", "POST", "/api/auth/login", content=b"x" * 4000, headers=_JSON)
            self.call("431", "GET", "/api/info", headers={"X-Pad": "a" * 5000})
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: self.call("info (8 parallel)", "GET", "/api/info"), range(16)))


_JSON = {"Content-Type": "application/json"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pico_firmware.host.bench", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="default: a free port")
    p.add_argument("--heap", default=emu.DEFAULT_HEAP)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--suite", action="store_true", help="run the conformance suite instead")
    args = p.parse_args(argv)
    if args.suite:
        return suite(args.heap, args.port or _free_port())
    port = args.port or _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc, target, log = start(args.heap, port, Path(tmp))
        try:
            profile = tomllib.loads(target.read_text())
            work = Workload(profile)
            work.run(args.rounds)
            trickle = trickle_latency(profile)
            server = work.client.get("/api/info").json()["server"]
        finally:
            proc.terminate()
            proc.wait(15)
        output = log.read_text(errors="replace")
    report(work.times, server, args.heap, output)
    report_trickle(*trickle)
    report_wear(*flash_wear())
    if "Error" in output or "Traceback" in output:
        print("firmware output:")
        print(output)
    return 1 if "MemoryError" in output else 0


def start(heap: str, port: int, tmp: Path, *extra: str) -> tuple[subprocess.Popen, Path, Path]:
    """The emulator, started; (process, target profile, log). SystemExit if it never listens."""
    target = tmp / "target.toml"
    cmd = [sys.executable, "-m", "pico_firmware.host.emulator", "--port", str(port)]
    cmd += ["--heap", heap, "--write-target-profile", str(target), *extra]
    log = tmp / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not target.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            print(log.read_text(errors="replace"), file=sys.stderr)
            raise SystemExit(1)
        time.sleep(0.1)
    return proc, target, log


def run_peaks(output: str) -> list[int]:
    """The peak each firmware run printed when it stopped."""
    return [int(n) for n in re.findall(r"^heap peak: (\d+)$", output, re.MULTILINE)]


def boot_use(output: str) -> list[int]:
    """The heap in use each firmware run printed once it was serving."""
    return [int(n) for n in re.findall(r"^heap in use: (\d+)$", output, re.MULTILINE)]


def qstr_pools(output: str) -> list[tuple[int, int]]:
    """(pools, names) of the interned-name table at each firmware run's stop. The table grows
    by doubling: one name past a pool's end costs a whole new pool (~7 KB on the Unix port
    at ~620 names), so the count is printed beside the heap."""
    found = re.findall(r"^qstr pool: n_pool=(\d+), n_qstr=(\d+)", output, re.MULTILINE)
    return [(int(p), int(n)) for p, n in found]


def suite(heap: str, port: int) -> int:
    """The conformance suite against the emulator; its verdict and the run's peak heap."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, target, log = start(heap, port, Path(tmp), "--test-accounts", "12")
        t = time.perf_counter()
        try:
            run = subprocess.run(
                [sys.executable, "-m", "conformance", "server", "--target-profile", str(target)]
                + ["--report-dir", str(Path(tmp) / "reports")],
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            proc.terminate()
            proc.wait(30)
        took = time.perf_counter() - t
        output = log.read_text(errors="replace")
    peaks = run_peaks(output)
    peak = max(peaks) if peaks else 0
    boots = boot_use(output)
    print(f"heap budget (emulator -X heapsize): {heap}")
    print(f"in use after boot: {', '.join(f'{b / 1024:.1f}' for b in boots)} KiB")
    print(f"conformance suite: exit {run.returncode} in {took:.0f} s, {len(peaks)} firmware runs")
    met = "met" if peak <= BUDGET_TARGET else "NOT met"
    print(
        f"peak heap in use over the suite: {peak / 1024:.1f} KiB "
        f"(target <= {BUDGET_TARGET / 1024:.0f} KiB: {met})"
    )
    print(f"per run: {', '.join(f'{p / 1024:.1f}' for p in peaks)} KiB")
    names = ", ".join(f"{n} in {p} pools" for p, n in qstr_pools(output))
    print(f"interned names (qstrs) at each stop: {names}")
    bad = "MemoryError" in output
    print(f"MemoryError in firmware output: {'yes' if bad else 'no'}")
    if run.returncode != 0 or bad or not peaks:
        print(run.stdout[-3000:])
        print("firmware output:")
        print(output[-5000:])
        return 1
    return 0


def report(times: dict[str, list[float]], server: dict, heap: str, output: str) -> None:
    peak = server["heap_peak"]
    print(f"heap budget (emulator -X heapsize): {heap}")
    boots = boot_use(output)
    if boots:
        print(f"in use after boot: {boots[0] / 1024:.1f} KiB")
    print(f"peak heap in use: {peak / 1024:.1f} KiB (target <= {BUDGET_TARGET / 1024:.0f} KiB)")
    print(f"requests served: {server['requests']}, flash state writes: {server['state_writes']}")
    print(f"MemoryError in firmware output: {'yes' if 'MemoryError' in output else 'no'}")
    base = statistics.median(times["info"])
    print(f"{'endpoint':<18}{'n':>4}{'median ms':>11}{'p95 ms':>9}{'x info':>8}")
    for name, ts in sorted(times.items()):
        ts = sorted(ts)
        p95 = ts[min(len(ts) - 1, int(0.95 * len(ts)))]
        med = statistics.median(ts)
        print(f"{name:<18}{len(ts):>4}{med * 1000:>11.1f}{p95 * 1000:>9.1f}{med / base:>8.1f}")
    params = provision.firmware_params()
    rate = pbkdf2_rate()
    n = params["PBKDF2_ITERATIONS"]
    ratio = params["HOST_TO_RP2040"]
    host_s = n / rate
    print(
        f"pbkdf2 on the Unix port: {rate:,.0f} iterations/s; a login ({n}) = {host_s * 1000:.1f} ms"
    )
    print(
        f"estimated login on an RP2040 @125 MHz (x{ratio}): {host_s * ratio:.2f} s "
        f"(target ~1 s; params.py explains the ratio)"
    )


def report_trickle(alone: list[float], attacked: list[float], connections: int) -> None:
    p50, worst = statistics.median(attacked), max(attacked)
    met = "met" if worst <= TRICKLE_GOAL_S else "NOT met"
    print(
        f"INPUT-7, a client at 127.0.0.2 (HTTPS, new connection each, n={len(attacked)}): "
        f"alone p50 {statistics.median(alone) * 1000:.0f} ms, max {max(alone) * 1000:.0f} ms; "
        f"with {TRICKLERS} tricklers from 127.0.0.1 ({connections} connections) "
        f"p50 {p50:.2f} s, max {worst:.2f} s (goal max <= {TRICKLE_GOAL_S:.0f} s: {met}); "
        f"x{p50 / statistics.median(alone):.0f} the p50 alone"
    )


def report_wear(per_failure: float, worst: float) -> None:
    failures = ERASE_CYCLES / worst
    print(
        f"STORE-3, each failure written before its 401 (tfa.lockout on LittleFS, "
        f"{FS_BLOCKS} blocks of 4096 B): {per_failure:.2f} block erases per failure, "
        f"the most-erased block {worst * 1000:.1f} per 1000 failures: {ERASE_CYCLES:,} cycles "
        f"last {failures / 1e6:.1f} M failures, {failures / 86400:.0f} days of one failure "
        f"a second without pause"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
