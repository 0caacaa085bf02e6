"""The host's end of the board's PPP link: framing and negotiation, on bytes only (no I/O).

The board (RPI_PICO_W_PPP: lwIP's PPP on UART0) calls; this peer answers. It is as small as a
peer of that one client can be:
- RFC 1662 HDLC-like framing: 0x7E flags, 0x7D escapes, FCS-16. It sends every control
  character escaped (always allowed, whatever ACCM the board asks for) and the address, control
  and protocol fields uncompressed; it reads both forms.
- RFC 1661 LCP: Acks the options lwIP asks for (MRU, ACCM, magic number, PFC, ACFC), Rejects
  any other (authentication among them: MicroPython's PPP.connect() asks for none by default),
  sends an empty Configure-Request of its own, answers Echo-Request and Terminate-Request.
- RFC 1332 IPCP: gives the board its address (a Nak of 0.0.0.0), asks for its own, Rejects
  the rest (VJ compression, DNS). Other protocols (IPv6CP) get a Protocol-Reject.
Once IPCP is open, IPv4 datagrams pass both ways (`ip_out` to the board, `received_ip` from it).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

FLAG, ESCAPE = 0x7E, 0x7D
LCP, IPCP, IPV4 = 0xC021, 0x8021, 0x0021
CONF_REQ, CONF_ACK, CONF_NAK, CONF_REJ = 1, 2, 3, 4
TERM_REQ, TERM_ACK, CODE_REJ, PROTO_REJ = 5, 6, 7, 8
ECHO_REQ, ECHO_REPLY, DISCARD_REQ = 9, 10, 11
# LCP options accepted as the board asks them: MRU, ACCM, magic number, PFC, ACFC
LCP_ACCEPTED = {1, 2, 5, 7, 8}
IPCP_ADDRESS = 3
RESTART_S = 3.0  # RFC 1661's Restart timer: our Configure-Request again until it is Acked


def _fcs_table() -> list[int]:
    table = []
    for b in range(256):
        v = b
        for _ in range(8):
            v = (v >> 1) ^ 0x8408 if v & 1 else v >> 1
        table.append(v)
    return table


_FCS = _fcs_table()


def fcs16(data: bytes, fcs: int = 0xFFFF) -> int:
    """RFC 1662's FCS-16 over data; a frame with its FCS appended comes to 0xF0B8."""
    for b in data:
        fcs = (fcs >> 8) ^ _FCS[(fcs ^ b) & 0xFF]
    return fcs


def frame(protocol: int, payload: bytes) -> bytes:
    """One HDLC-like frame: flags, FF 03, the protocol, the payload, FCS; control bytes escaped."""
    body = b"\xff\x03" + struct.pack(">H", protocol) + payload
    body += struct.pack("<H", fcs16(body) ^ 0xFFFF)
    out = bytearray([FLAG])
    for b in body:
        if b < 0x20 or b in (FLAG, ESCAPE):
            out += bytes([ESCAPE, b ^ 0x20])
        else:
            out.append(b)
    out.append(FLAG)
    return bytes(out)


class Deframer:
    """Bytes in, (protocol, payload) out: frames with a bad FCS or too short are dropped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._escaped = False
        self.bad = 0  # frames dropped for their FCS

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        out = []
        for b in data:
            if b == FLAG:
                if self._buf:
                    got = self._parse(bytes(self._buf))
                    if got is not None:
                        out.append(got)
                self._buf.clear()
                self._escaped = False
            elif b == ESCAPE:
                self._escaped = True
            else:
                self._buf.append(b ^ 0x20 if self._escaped else b)
                self._escaped = False
        return out

    def _parse(self, raw: bytes) -> tuple[int, bytes] | None:
        if len(raw) < 4 or fcs16(raw) != 0xF0B8:
            self.bad += len(raw) >= 4
            return None
        body = raw[:-2]
        if body[:2] == b"\xff\x03":  # else address and control were compressed (ACFC)
            body = body[2:]
        if not body:
            return None
        if body[0] & 1:  # a compressed (one-byte) protocol field (PFC)
            return body[0], body[1:]
        if len(body) < 2:
            return None
        return (body[0] << 8) | body[1], body[2:]


def packet(code: int, ident: int, data: bytes) -> bytes:
    """A control protocol packet (LCP, IPCP): code, identifier, length, data."""
    return struct.pack(">BBH", code, ident, 4 + len(data)) + data


def options(data: bytes) -> list[tuple[int, bytes]] | None:
    """Configure options as (type, value); None when they are malformed."""
    found, i = [], 0
    while i < len(data):
        if i + 2 > len(data) or data[i + 1] < 2 or i + data[i + 1] > len(data):
            return None
        found.append((data[i], data[i + 2 : i + data[i + 1]]))
        i += data[i + 1]
    return found


def encode_options(opts: list[tuple[int, bytes]]) -> bytes:
    return b"".join(bytes([t, 2 + len(v)]) + v for t, v in opts)


@dataclass
class Negotiation:
    """One control protocol's two directions: the board's request answered, ours Acked."""

    protocol: int
    ours: list[tuple[int, bytes]]
    peer_acked: bool = False  # we Acked the board's request
    we_acked: bool = False  # the board Acked ours
    ident: int = 0
    sent_at: float | None = None

    @property
    def opened(self) -> bool:
        return self.peer_acked and self.we_acked


@dataclass
class Peer:
    """The host's PPP endpoint; `receive(bytes)` and `poll(now)` fill `out` with bytes for the
    board, and IPv4 datagrams from the board land in `received_ip`."""

    local: ipaddress.IPv4Address
    remote: ipaddress.IPv4Address
    out: list[bytes] = field(default_factory=list)
    received_ip: list[bytes] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.deframer = Deframer()
        self.lcp = Negotiation(LCP, [])
        self.ipcp = Negotiation(IPCP, [(IPCP_ADDRESS, self.local.packed)])
        self.rejects = 0  # identifier of our Code- and Protocol-Rejects

    @property
    def up(self) -> bool:
        return self.lcp.opened and self.ipcp.opened

    def receive(self, data: bytes, now: float = 0.0) -> None:
        for protocol, payload in self.deframer.feed(data):
            if protocol == LCP:
                self._control(self.lcp, payload, now)
            elif protocol == IPCP and self.lcp.opened:
                self._control(self.ipcp, payload, now)
            elif protocol == IPV4 and self.up:
                self.received_ip.append(payload)
            elif self.lcp.opened:  # IPv6CP and the rest (RFC 1661 5.7)
                self.rejects = (self.rejects + 1) & 0xFF
                rejected = struct.pack(">H", protocol) + payload
                self._send(LCP, packet(PROTO_REJ, self.rejects, rejected))

    def ip_out(self, datagram: bytes) -> bool:
        """Send an IPv4 datagram to the board; False (dropped) while the link is not up."""
        if not self.up:
            return False
        self.out.append(frame(IPV4, datagram))
        return True

    def poll(self, now: float) -> None:
        """Our Configure-Requests: sent at once, then again every RESTART_S until Acked."""
        for n in (self.lcp, self.ipcp):
            if n is self.ipcp and not self.lcp.opened:
                continue
            if not n.we_acked and (n.sent_at is None or now - n.sent_at >= RESTART_S):
                self._request(n, now)

    # -- internals ----------------------------------------------------------------------

    def _send(self, protocol: int, data: bytes) -> None:
        self.out.append(frame(protocol, data))

    def _next(self, n: Negotiation) -> int:
        n.ident = (n.ident + 1) & 0xFF
        return n.ident

    def _request(self, n: Negotiation, now: float) -> None:
        n.sent_at = now
        self._send(n.protocol, packet(CONF_REQ, self._next(n), encode_options(n.ours)))

    def _reset(self, n: Negotiation) -> None:
        n.peer_acked = n.we_acked = False
        n.sent_at = None
        if n is self.lcp:
            self._reset(self.ipcp)

    def _control(self, n: Negotiation, payload: bytes, now: float) -> None:
        if len(payload) < 4:
            return
        code, ident, length = struct.unpack(">BBH", payload[:4])
        data = payload[4:length]
        name = "LCP" if n is self.lcp else "IPCP"
        if code == CONF_REQ:
            opts = options(data)
            if opts is None:
                return
            if n.opened:  # the board starts again: so do we (RFC 1661, Opened + RCR)
                self._reset(n)
                self._request(n, now)
            reply, answer = self._judge(n, opts)
            self.log.append(f"{name} Configure-Request {opts} -> code {reply} {answer}")
            self._send(n.protocol, packet(reply, ident, encode_options(answer)))
            n.peer_acked = n.peer_acked or reply == CONF_ACK
            if n.sent_at is None:
                self._request(n, now)
        elif code == CONF_ACK and ident == n.ident:
            n.we_acked = True
            self.log.append(f"{name} our request Acked")
        elif code in (CONF_NAK, CONF_REJ) and ident == n.ident:
            self.log.append(f"{name} our request refused (code {code}): {data.hex()}")
            self._request(n, now)  # nothing of ours is negotiable: ask again
        elif code == TERM_REQ:
            self._send(n.protocol, packet(TERM_ACK, ident, b""))
            self._reset(n)
            self.log.append(f"{name} Terminate-Request")
        elif n is self.lcp and code == ECHO_REQ and n.opened:
            self._send(LCP, packet(ECHO_REPLY, ident, b"\0\0\0\0" + data[4:]))
        elif code > DISCARD_REQ or code == 0 or (n is self.ipcp and code > CODE_REJ):
            # an unknown code (RFC 1661 5.6); a stale Ack, a reply or a Discard is dropped
            self.rejects = (self.rejects + 1) & 0xFF
            self._send(n.protocol, packet(CODE_REJ, self.rejects, payload[:length]))

    def _judge(self, n: Negotiation, opts: list[tuple[int, bytes]]) -> tuple[int, list]:
        """RFC 1661: Reject what is unknown, else Nak what is unacceptable, else Ack it all."""
        if n is self.lcp:
            rejected = [o for o in opts if o[0] not in LCP_ACCEPTED]
            naks: list[tuple[int, bytes]] = []
        else:
            rejected = [o for o in opts if o[0] != IPCP_ADDRESS]
            want = self.remote.packed
            naks = [(t, want) for t, v in opts if t == IPCP_ADDRESS and v != want]
        if rejected:
            return CONF_REJ, rejected
        if naks:
            return CONF_NAK, naks
        return CONF_ACK, opts
