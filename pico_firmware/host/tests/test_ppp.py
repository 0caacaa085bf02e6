"""The host's PPP peer (pico_firmware.rp2.ppp) and the link's helpers, on byte strings."""

from __future__ import annotations

import ipaddress
import struct

from hypothesis import given
from hypothesis import strategies as st

from pico_firmware.rp2 import link, ppp

LOCAL = ipaddress.IPv4Address("10.71.0.1")
REMOTE = ipaddress.IPv4Address("10.71.0.2")


def test_fcs16_matches_rfc1662_check_value() -> None:
    # RFC 1662 appendix C: a frame followed by its complemented FCS checks to the good FCS 0xF0B8
    data = b"123456789"
    fcs = ppp.fcs16(data) ^ 0xFFFF
    assert fcs == 0x906E  # CRC-16/X-25 of "123456789", the published check value
    assert ppp.fcs16(data + struct.pack("<H", fcs)) == 0xF0B8


def test_frame_escapes_flags_escapes_and_control_characters() -> None:
    raw = ppp.frame(0x0021, bytes([0x7E, 0x7D, 0x00, 0x1F, 0x20, 0x41]))
    assert raw[0] == raw[-1] == 0x7E
    body = raw[1:-1]
    assert 0x7E not in body
    assert all(b >= 0x20 for b in body if b != 0x7D)
    # FF 03 00 21, then the payload escaped: 7D 5E, 7D 5D, 7D 20, 7D 3F, 20, 41
    assert body.startswith(b"\xff\x7d\x23\x7d\x20\x21\x7d\x5e\x7d\x5d\x7d\x20\x7d\x3f\x20\x41")


@given(st.integers(0, 0xFFFF).filter(lambda p: p & 0x0100 == 0 and p & 1), st.binary(max_size=300))
def test_deframer_reads_what_frame_writes(protocol: int, payload: bytes) -> None:
    d = ppp.Deframer()
    stream = ppp.frame(protocol, payload) * 2
    got = []
    for i in range(0, len(stream), 7):  # in pieces, as a serial line delivers it
        got += d.feed(stream[i : i + 7])
    assert got == [(protocol, payload)] * 2


def test_deframer_drops_a_frame_with_a_bad_fcs_and_keeps_the_next() -> None:
    good = ppp.frame(0xC021, b"\x09\x01\x00\x08abcd")
    broken = bytearray(good)
    broken[6] ^= 0x01
    d = ppp.Deframer()
    assert d.feed(bytes(broken) + good) == [(0xC021, b"\x09\x01\x00\x08abcd")]
    assert d.bad == 1


def test_deframer_reads_compressed_address_control_and_protocol_fields() -> None:
    body = b"\x21" + b"datagram"  # ACFC and PFC: no FF 03, a one-byte protocol
    body += struct.pack("<H", ppp.fcs16(body) ^ 0xFFFF)
    assert ppp.Deframer().feed(b"\x7e" + body + b"\x7e") == [(0x21, b"datagram")]


def lcp(code: int, ident: int, opts: list[tuple[int, bytes]]) -> bytes:
    return ppp.frame(ppp.LCP, ppp.packet(code, ident, ppp.encode_options(opts)))


def ipcp(code: int, ident: int, opts: list[tuple[int, bytes]]) -> bytes:
    return ppp.frame(ppp.IPCP, ppp.packet(code, ident, ppp.encode_options(opts)))


def sent(peer: ppp.Peer) -> list[tuple[int, int, int, list[tuple[int, bytes]] | None]]:
    """What the peer sent: (protocol, code, identifier, options)."""
    out = []
    for protocol, payload in ppp.Deframer().feed(b"".join(peer.out)):
        code, ident, length = struct.unpack(">BBH", payload[:4])
        out.append((protocol, code, ident, ppp.options(payload[4:length])))
    peer.out.clear()
    return out


def open_link() -> ppp.Peer:
    """The exchange lwIP's PPP (MicroPython's network.PPP) has with the peer, as seen on UART0."""
    peer = ppp.Peer(LOCAL, REMOTE)
    board_lcp = [(2, b"\0\0\0\0"), (5, b"\x8e\xf9\xd9\x68"), (7, b""), (8, b"")]
    peer.receive(lcp(ppp.CONF_REQ, 1, board_lcp))
    assert sent(peer) == [
        (ppp.LCP, ppp.CONF_ACK, 1, board_lcp),  # all of it accepted
        (ppp.LCP, ppp.CONF_REQ, 1, []),  # and ours: nothing to ask
    ]
    peer.receive(lcp(ppp.CONF_ACK, 1, []))
    assert peer.lcp.opened and not peer.up
    dns = [(129, b"\0\0\0\0"), (131, b"\0\0\0\0")]
    peer.receive(ipcp(ppp.CONF_REQ, 1, [(3, b"\0\0\0\0"), *dns]))
    assert sent(peer) == [
        (ppp.IPCP, ppp.CONF_REJ, 1, dns),  # no DNS here
        (ppp.IPCP, ppp.CONF_REQ, 1, [(3, LOCAL.packed)]),
    ]
    peer.receive(ipcp(ppp.CONF_REQ, 2, [(3, b"\0\0\0\0")]))
    assert sent(peer) == [(ppp.IPCP, ppp.CONF_NAK, 2, [(3, REMOTE.packed)])]  # your address
    peer.receive(ipcp(ppp.CONF_ACK, 1, [(3, LOCAL.packed)]))
    assert not peer.up
    peer.receive(ipcp(ppp.CONF_REQ, 3, [(3, REMOTE.packed)]))
    assert sent(peer) == [(ppp.IPCP, ppp.CONF_ACK, 3, [(3, REMOTE.packed)])]
    assert peer.up
    return peer


def test_lcp_and_ipcp_open_as_with_lwip() -> None:
    open_link()


def test_authentication_and_unknown_lcp_options_are_rejected() -> None:
    peer = ppp.Peer(LOCAL, REMOTE)
    pap = (3, b"\xc0\x23")
    peer.receive(lcp(ppp.CONF_REQ, 7, [(1, b"\x05\xdc"), pap, (13, b"\x06")]))
    assert sent(peer)[0] == (ppp.LCP, ppp.CONF_REJ, 7, [pap, (13, b"\x06")])
    assert not peer.lcp.peer_acked


def test_ip_passes_only_once_the_link_is_up() -> None:
    peer = ppp.Peer(LOCAL, REMOTE)
    datagram = b"\x45" + bytes(19)
    assert not peer.ip_out(datagram)
    peer.receive(ppp.frame(ppp.IPV4, datagram))
    assert peer.received_ip == [] and peer.out == []
    peer = open_link()
    assert peer.ip_out(datagram)
    assert ppp.Deframer().feed(b"".join(peer.out)) == [(ppp.IPV4, datagram)]
    peer.receive(ppp.frame(ppp.IPV4, datagram))
    assert peer.received_ip == [datagram]


def test_echo_terminate_and_unknown_protocols() -> None:
    peer = open_link()
    peer.receive(ppp.frame(ppp.LCP, ppp.packet(ppp.ECHO_REQ, 9, b"\x8e\xf9\xd9\x68ping")))
    ((protocol, payload),) = ppp.Deframer().feed(b"".join(peer.out))
    assert (protocol, payload) == (ppp.LCP, ppp.packet(ppp.ECHO_REPLY, 9, b"\0\0\0\0ping"))
    peer.out.clear()
    peer.receive(ppp.frame(0x8057, b"\x01\x01\x00\x0e\x01\x0a12345678"))  # IPv6CP
    ((protocol, payload),) = ppp.Deframer().feed(b"".join(peer.out))
    assert protocol == ppp.LCP and payload[0] == ppp.PROTO_REJ and payload[4:6] == b"\x80\x57"
    peer.out.clear()
    peer.receive(lcp(ppp.TERM_REQ, 4, []))
    assert sent(peer) == [(ppp.LCP, ppp.TERM_ACK, 4, [])]
    assert not peer.up and not peer.ipcp.opened


def test_our_request_is_sent_again_until_acked() -> None:
    peer = ppp.Peer(LOCAL, REMOTE)
    peer.poll(0.0)
    assert sent(peer) == [(ppp.LCP, ppp.CONF_REQ, 1, [])]
    peer.poll(1.0)
    assert sent(peer) == []
    peer.poll(ppp.RESTART_S)
    assert sent(peer) == [(ppp.LCP, ppp.CONF_REQ, 2, [])]
    peer.receive(lcp(ppp.CONF_ACK, 1, []))  # a stale identifier Acks nothing
    assert not peer.lcp.we_acked
    peer.receive(lcp(ppp.CONF_ACK, 2, []))
    assert peer.lcp.we_acked


def test_malformed_options_get_no_answer() -> None:
    peer = ppp.Peer(LOCAL, REMOTE)
    peer.receive(ppp.frame(ppp.LCP, ppp.packet(ppp.CONF_REQ, 1, b"\x01\x09\x05")))
    assert peer.out == []


def test_sntp_reply_carries_the_time_and_the_clients_stamp() -> None:
    request = bytes([0x1B]) + bytes(39) + b"ORIGINAL"  # version 3, mode 3 (ntptime's)
    reply = link.sntp_reply(request, 1_800_000_000.5)
    assert reply is not None and len(reply) == 48
    assert reply[0] == (3 << 3) | 4 and reply[1] == 1
    assert reply[24:32] == b"ORIGINAL"  # originate = the client's transmit stamp
    secs, frac = struct.unpack(">II", reply[40:48])
    assert secs - link.NTP_EPOCH == 1_800_000_000 and frac == 1 << 31
    assert link.sntp_reply(bytes([0x1C]) + bytes(47), 0) is None  # a server's packet
    assert link.sntp_reply(b"\x1b", 0) is None


def test_describe_names_tcp_segments() -> None:
    ip = bytes([0x45, 0, 0, 44]) + bytes(5) + bytes([6]) + bytes(10)
    tcp = struct.pack(">HHIIBBHHH", 443, 52578, 7, 9, 5 << 4, 0x12, 0, 0, 0) + b"abcd"
    assert link.describe(ip + tcp) == "TCP 443>52578 SA seq 7 ack 9 len 4"


def test_each_loopback_client_reaches_the_board_from_an_address_of_its_own() -> None:
    assert link.source_for("127.0.0.1") == "10.71.1.1"
    assert link.source_for("127.0.0.17") == "10.71.1.17"
    assert link.source_for("127.0.0.0") is None
    assert link.source_for("10.0.0.5") is None  # not a loopback client
    assert link.source_for("::1") is None
    assert link.source_for("not an address") is None
