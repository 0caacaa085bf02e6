"""Trusting a board's self-signed certificate over real TLS on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import AuthClient, ClockSkewWarning, NetworkError, PinMismatch, ProtocolError, TLSError
from client.tests.certs import self_signed
from client.tests.fake_board import FakeBoard
from client.tests.servers import raw_server, uvicorn_tls
from client.tls import fingerprint, normalize_pin

Cert = tuple[Path, Path, bytes]


@pytest.fixture(scope="module")
def tls_board(board_cert: Cert) -> Iterator[tuple[str, FakeBoard]]:
    fake = FakeBoard(now=time.time())
    fake.add("alice", "correct horse")
    with uvicorn_tls(fake.asgi, board_cert[0], board_cert[1]) as url:
        yield url, fake


def test_ca_file_trusts_the_board(tls_board: tuple[str, FakeBoard], board_cert: Cert) -> None:
    url, fake = tls_board
    with AuthClient(url, ca_cert=str(board_cert[0])) as auth:
        assert auth.info().api_version == "1"


def test_ca_file_trusts_a_leaf_only_certificate(tmp_path: Path) -> None:
    """A board certificate that is not a CA (CA:FALSE) is its own trust anchor."""
    cert, key, _ = self_signed(tmp_path, "leaf", ca=False)
    fake = FakeBoard(now=time.time())
    with uvicorn_tls(fake.asgi, cert, key) as url, AuthClient(url, ca_cert=str(cert)) as auth:
        assert auth.info().profile == "test"


def test_untrusted_certificate_is_refused_before_any_request(
    tls_board: tuple[str, FakeBoard], other_cert: Cert
) -> None:
    url, fake = tls_board
    before = len(fake.received)
    for kwargs in ({}, {"ca_cert": str(other_cert[0])}):
        with AuthClient(url, **kwargs) as auth, pytest.raises(TLSError) as refused:
            auth.login("alice", "correct horse")
        assert not isinstance(refused.value, PinMismatch)
    assert len(fake.received) == before


def test_pinned_fingerprint(tls_board: tuple[str, FakeBoard], board_cert: Cert) -> None:
    url, fake = tls_board
    pin = fingerprint(board_cert[2])
    colons = ":".join(pin[i : i + 2] for i in range(0, 64, 2)).upper()
    for given in (pin, colons):
        with AuthClient(url, pin_sha256=given) as auth:
            assert auth.info().api_version == "1"


def test_wrong_pin_sends_nothing(
    tls_board: tuple[str, FakeBoard], other_cert: Cert, board_cert: Cert
) -> None:
    url, fake = tls_board
    before = len(fake.received)
    with AuthClient(url, pin_sha256=fingerprint(other_cert[2])) as auth:
        with pytest.raises(PinMismatch):
            auth.login("alice", "correct horse")
        with pytest.raises(PinMismatch):
            auth.info()
    # The password never left: the board saw no request at all.
    assert len(fake.received) == before
    # A pin and a CA file together: both must hold.
    both = AuthClient(url, ca_cert=str(board_cert[0]), pin_sha256=fingerprint(other_cert[2]))
    with both, pytest.raises(PinMismatch):
        both.info()


def test_verify_false_is_explicit(tls_board: tuple[str, FakeBoard]) -> None:
    url, _ = tls_board
    with AuthClient(url, verify=False) as auth:
        assert auth.info().api_version == "1"


def test_full_flow_over_tls(tls_board: tuple[str, FakeBoard], board_cert: Cert) -> None:
    url, fake = tls_board
    with AuthClient(url, ca_cert=str(board_cert[0]), clock=lambda: fake.now) as auth:
        session = auth.authenticate(
            "alice", "correct horse", totp_secret=fake.accounts["alice"].secret
        )
        assert auth.dashboard(session)["user"]["username"] == "alice"
        auth.logout(session)


@pytest.mark.parametrize("text", ["", "00" * 31, "zz" * 32, "00" * 33, "sha1/" + "00" * 20])
def test_malformed_pins_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalize_pin(text)


@pytest.mark.parametrize(
    "garbage",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02garbage",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{",
        b"",
    ],
)
def test_garbage_answer_is_a_protocol_error(garbage: bytes) -> None:
    with raw_server(garbage) as url, AuthClient(url, timeout=5) as auth:
        pytest.raises(ProtocolError, auth.info)


def test_https_to_a_plain_http_server_says_use_http() -> None:
    answer = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    with (
        raw_server(answer) as url,
        AuthClient(url.replace("http:", "https:"), timeout=5) as auth,
        pytest.raises(TLSError, match="without TLS.*use http://"),
    ):
        auth.info()


def test_refused_connection_is_a_network_error() -> None:
    with raw_server(b"") as url:
        port = url.rsplit(":", 1)[1]
    with AuthClient(f"http://127.0.0.1:{port}", timeout=5) as auth:
        pytest.raises(NetworkError, auth.info)


def test_silent_server_times_out_cleanly() -> None:
    with raw_server(None) as url, AuthClient(url, timeout=0.5) as auth:
        started = time.monotonic()
        pytest.raises(NetworkError, auth.info)
        assert time.monotonic() - started < 5


def test_a_provisioned_board_certificate_is_trusted(tmp_path: Path) -> None:
    """The certificate the provisioning tool makes for a board, by CA file and by its pin."""
    provision = pytest.importorskip("pico_firmware.host.provision")
    from cryptography.hazmat.primitives import serialization

    made = provision.make_certificate("pico-board.local", ip="127.0.0.1")
    cert, key = tmp_path / "board.pem", tmp_path / "board.key"
    cert.write_bytes(made.cert_pem)
    private = serialization.load_der_private_key(made.key_der, None)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    fake = FakeBoard(now=time.time())
    with uvicorn_tls(fake.asgi, cert, key) as url:
        for trust in ({"ca_cert": str(cert)}, {"pin_sha256": made.sha256}):
            with AuthClient(url, **trust) as auth:  # type: ignore[arg-type]
                assert auth.info().api_version == "1"


def test_offset_is_measured_after_the_handshake(board_cert: Cert) -> None:
    """The round trip that brackets server_time starts when the request leaves, not before the
    TLS handshake (seconds on a board): the clock is read at httpcore's trace events."""
    readings = iter([0.0, 100.0, 101.0, 500.0])
    fake = FakeBoard(now=1000.0)
    with (
        uvicorn_tls(fake.asgi, board_cert[0], board_cert[1]) as url,
        AuthClient(url, ca_cert=str(board_cert[0]), clock=lambda: next(readings)) as auth,
        pytest.warns(ClockSkewWarning),
    ):
        facts = auth.info()
    # server_time 1000 (+0.5 for truncation) against the middle of 100..101.
    assert facts.clock_offset == pytest.approx(900.0)
