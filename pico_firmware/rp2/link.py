"""The board's PPP link to a network namespace of its own, and a loopback port to its HTTPS.

`Link(uart_port)` (the parent, in the host's namespace) makes the two sockets that must live
there: the connection to the runner's UART0 bridge and a listening socket on 127.0.0.1. It then
starts itself again under `unshare -Urn` (a new user and network namespace: no privilege on the
host is used and no host interface is touched), handing both sockets over as file descriptors.

The child (`python -m pico_firmware.rp2.link ...`) brings up loopback and a TUN device
addressed LOCAL peer REMOTE, and runs one event loop that:
- speaks PPP with the board (pico_firmware.rp2.ppp) and passes IPv4 between it and the TUN;
- answers SNTP on LOCAL:123 from the host's clock (the board's tfa.clock syncs from there);
- forwards each connection to the loopback port to REMOTE:board_port, through the namespace's
  kernel TCP, the TUN and PPP, to the board's lwIP, from an address of SOURCES that stands for
  the client's own (127.0.0.K comes from 10.71.1.K): the board tells clients apart by address
  (its turns, INPUT-7; its per-address throttle, LOCK-8), and the suite uses several.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from pico_firmware.rp2.machine import stop_process
from pico_firmware.rp2.ppp import Peer

LOCAL = ipaddress.IPv4Address("10.71.0.1")
REMOTE = ipaddress.IPv4Address("10.71.0.2")
SOURCES = ipaddress.IPv4Network("10.71.1.0/24")  # local in the namespace (a `local` route)
TUN_NAME = "tfa0"
TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
NTP_EPOCH = 2208988800  # seconds from 1900 to 1970


class LinkError(Exception):
    """The link could not start; the message says why."""


def unavailable() -> str | None:
    """Why a namespace with a TUN device cannot be made here, or None if it can."""
    if shutil.which("unshare") is None:
        return "the unshare command (util-linux) is not installed"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun does not exist"
    probe = [
        "unshare", "-Urn", "sh", "-c",
        "ip link set lo up && ip tuntap add dev probe0 mode tun",
    ]  # fmt: skip
    r = subprocess.run(probe, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return f"cannot make a network namespace with a TUN device: {r.stderr.strip()}"
    return None


def sntp_reply(request: bytes, now: float) -> bytes | None:
    """RFC 4330: a server's answer (mode 4, stratum 1) to a client's request (mode 3)."""
    if len(request) < 48 or request[0] & 7 != 3:
        return None
    version = (request[0] >> 3) & 7
    secs = int(now) + NTP_EPOCH
    frac = int((now % 1) * (1 << 32))
    stamp = struct.pack(">II", secs, frac)
    head = struct.pack(">BBbb", (version << 3) | 4, 1, 6, -20) + b"\0" * 8 + b"LOCL"
    return head + stamp + request[40:48] + stamp + stamp


def describe(datagram: bytes) -> str:
    """One line for an IPv4 datagram: TCP ports, flags, sequence and payload length."""
    if len(datagram) < 20:
        return f"short datagram ({len(datagram)} B)"
    ihl = (datagram[0] & 15) * 4
    if datagram[9] != 6 or len(datagram) < ihl + 20:
        return f"IP protocol {datagram[9]}, {len(datagram)} B"
    sport, dport, seq, ack, off, flags = struct.unpack(">HHIIBB", datagram[ihl : ihl + 14])
    names = "".join(c for bit, c in zip(range(6), "FSRPAU", strict=True) if flags >> bit & 1)
    payload = len(datagram) - ihl - (off >> 4) * 4
    return f"TCP {sport}>{dport} {names} seq {seq} ack {ack} len {payload}"


def source_for(client: str) -> str | None:
    """The namespace's address that stands for a loopback client's, by its last byte (127.0.0.K
    and 127.1.0.K share one); None for another address (the kernel picks LOCAL)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return None
    last = address.packed[-1]
    if address.version != 4 or not address.is_loopback or last in (0, 255):
        return None
    return str(SOURCES[last])


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def configure(name: str, local: ipaddress.IPv4Address, remote: ipaddress.IPv4Address) -> None:
    for argv in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "addr", "add", str(local), "peer", str(remote), "dev", name],
        ["ip", "link", "set", name, "mtu", "1500", "up"],
        ["ip", "route", "add", "local", str(SOURCES), "dev", "lo"],
    ):
        subprocess.run(argv, check=True)


class Child:
    """The namespace's side: one event loop for the serial line, the TUN, SNTP and forwards."""

    def __init__(
        self, serial: socket.socket, listener: socket.socket, board_port: int, trace: bool
    ) -> None:
        self.serial, self.listener, self.board_port = serial, listener, board_port
        self.trace = trace
        self.peer = Peer(LOCAL, REMOTE)
        self.tun = open_tun(TUN_NAME)
        configure(TUN_NAME, LOCAL, REMOTE)
        self.announced = False
        self.forwards = 0

    def say(self, message: str) -> None:
        print(f"link: {message}", file=sys.stderr, flush=True)

    def flush(self) -> None:
        """The peer's bytes for the board to the serial line, its datagrams for us to the TUN."""
        for log in self.peer.log:
            self.say(log)
        self.peer.log.clear()
        data = b"".join(self.peer.out)
        self.peer.out.clear()
        if data:
            self.serial.sendall(data)  # blocking socket: the runner reads it promptly
        for datagram in self.peer.received_ip:
            if self.trace:
                self.say(f"{time.monotonic():.3f} from the board: {describe(datagram)}")
            with contextlib.suppress(OSError):
                os.write(self.tun, datagram)
        self.peer.received_ip.clear()
        if self.peer.up and not self.announced:
            self.announced = True
            self.say(f"up: board {REMOTE}, host {LOCAL}")

    def on_serial(self) -> None:
        data = self.serial.recv(65536)
        if not data:
            self.say("the board's serial line closed")
            self.loop.stop()
            return
        self.peer.receive(data, time.monotonic())
        self.flush()

    def on_tun(self) -> None:
        while True:
            try:
                datagram = os.read(self.tun, 65536)
            except BlockingIOError:
                break
            if not datagram or datagram[0] >> 4 != 4:
                continue  # the kernel's IPv6 (router solicitations): the link carries IPv4 only
            if self.trace:
                self.say(f"{time.monotonic():.3f} to the board: {describe(datagram)}")
            self.peer.ip_out(datagram)
        self.flush()

    async def restart_timer(self) -> None:
        while True:
            self.peer.poll(time.monotonic())
            self.flush()
            await asyncio.sleep(0.5)

    async def forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.forwards += 1
        n, start = self.forwards, time.monotonic()
        client = writer.get_extra_info("peername")
        source = source_for(client[0])
        self.say(f"forward {n}: from {client}, to the board from {source or LOCAL}")
        try:
            board_r, board_w = await asyncio.open_connection(
                str(REMOTE), self.board_port, local_addr=(source, 0) if source else None
            )
        except OSError as e:
            self.say(f"forward: the board refused: {e}")
            writer.close()
            return

        self.say(f"forward {n}: the board accepted after {time.monotonic() - start:.2f} s")
        moved = [0, 0]

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, way: int) -> None:
            try:
                while data := await r.read(65536):
                    moved[way] += len(data)
                    w.write(data)
                    await w.drain()
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    w.close()

        await asyncio.gather(pipe(reader, board_w, 0), pipe(board_r, writer, 1))
        took = time.monotonic() - start
        self.say(f"forward {n}: closed after {took:.2f} s, {moved[0]} B in, {moved[1]} B out")

    async def main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.serial.setblocking(False)
        self.loop.add_reader(self.serial.fileno(), self.on_serial)
        self.serial.setblocking(True)
        self.loop.add_reader(self.tun, self.on_tun)

        class Sntp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple) -> None:
                reply = sntp_reply(data, time.time())
                if reply is not None:
                    self.transport.sendto(reply, addr)  # type: ignore[attr-defined]

        await self.loop.create_datagram_endpoint(Sntp, local_addr=(str(LOCAL), 123))
        server = await asyncio.start_server(self.forward, sock=self.listener)
        self.say("ready")
        async with server:
            await self.restart_timer()


class Link:
    """`with Link(uart_port) as link:` the board's HTTPS is at https://127.0.0.1:{link.port}."""

    def __init__(
        self, uart_port: int, log: Path, board_port: int = 443, trace: bool = False
    ) -> None:
        self.uart_port, self.log, self.board_port, self.trace = uart_port, log, board_port, trace
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        why = unavailable()
        if why:
            raise LinkError(why)
        deadline = time.monotonic() + timeout
        while True:
            try:
                serial = socket.create_connection(("127.0.0.1", self.uart_port), timeout=5)
                break
            except OSError as e:
                if time.monotonic() > deadline:
                    raise LinkError(f"the runner's UART0 port {self.uart_port}: {e}") from None
                time.sleep(0.2)
        serial.settimeout(None)
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        argv = [
            "unshare", "-Urn", sys.executable, "-m", "pico_firmware.rp2.link",
            "--serial-fd", str(serial.fileno()), "--listen-fd", str(listener.fileno()),
            "--board-port", str(self.board_port),
        ] + (["--trace"] if self.trace else [])  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                pass_fds=(serial.fileno(), listener.fileno()),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[2],
            )
        serial.close()
        listener.close()
        while "link: ready" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise LinkError(f"the link did not start: {self.log.read_text()}")
            time.sleep(0.1)

    def wait_up(self, timeout: float) -> float:
        """Seconds until PPP is up (LCP and IPCP open), or LinkError."""
        start = time.monotonic()
        while "link: up" not in self.log.read_text(errors="replace"):
            if self.proc is None or self.proc.poll() is not None:
                raise LinkError(f"the link stopped: {self.log.read_text()}")
            if time.monotonic() - start > timeout:
                raise LinkError(f"PPP did not come up in {timeout:.0f} s: {self.log.read_text()}")
            time.sleep(0.2)
        return time.monotonic() - start

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> Link:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pico_firmware.rp2.link", description=__doc__)
    p.add_argument("--serial-fd", type=int, required=True)
    p.add_argument("--listen-fd", type=int, required=True)
    p.add_argument("--board-port", type=int, default=443)
    p.add_argument("--trace", action="store_true", help="a line per TCP segment, in the log")
    args = p.parse_args(argv)
    serial = socket.socket(fileno=args.serial_fd)
    listener = socket.socket(fileno=args.listen_fd)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Child(serial, listener, args.board_port, args.trace).main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
