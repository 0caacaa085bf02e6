"""Throwaway certificates: each variant is what a TLS client that trusts it accepts, and only it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from reference_server import tls


def handshake(server_cert: str, server_key: str, cafile: str, host: str = "127.0.0.1") -> None:
    """A full TLS handshake in memory: a default client context trusting `cafile` only."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server_cert, server_key)
    client_ctx = ssl.create_default_context(cafile=cafile)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=host)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("the handshake did not finish")


def san(cert: x509.Certificate) -> list[object]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [*ext.get_values_for_type(x509.IPAddress), *ext.get_values_for_type(x509.DNSName)]


def test_self_signed_loopback_is_its_own_trust_anchor(tmp_path):
    cert, key = tls.make_self_signed(str(tmp_path))
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    certificate = x509.load_pem_x509_certificate((tmp_path / "cert.pem").read_bytes())
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert san(certificate) == [ipaddress.ip_address("127.0.0.1"), "localhost"]
    handshake(cert, key, cert)
    handshake(cert, key, cert, host="localhost")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(cert, key, cert, host="example.com")


def test_a_stranger_is_not_trusted(tmp_path):
    cert, key = tls.make_self_signed(str(tmp_path / "a"))
    other, _ = tls.make_self_signed(str(tmp_path / "b"))
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(cert, key, other)


def test_a_leaf_signed_by_a_throwaway_ca_is_trusted_through_the_ca_only(tmp_path):
    authority = tls.new_authority("test-ca")
    leaf = tls.issue_leaf(authority, "server")
    ca_pem, _ = authority.write(tmp_path, "ca.pem", "ca.key")
    cert, key = leaf.write(tmp_path, "server.pem", "server.key")
    handshake(str(cert), str(key), str(ca_pem))
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(str(cert), str(key), str(cert))  # the leaf is no CA
    constraints = leaf.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca is False
    usage = leaf.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ca_usage = authority.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ca_usage.key_cert_sign and ca_usage.crl_sign and not ca_usage.digital_signature
    assert leaf.certificate.issuer == authority.certificate.subject


def test_another_authority_does_not_vouch_for_the_leaf(tmp_path):
    leaf = tls.issue_leaf(tls.new_authority("ca"), "server")
    other_pem, _ = tls.new_authority("other").write(tmp_path, "other.pem", "other.key")
    cert, key = leaf.write(tmp_path, "server.pem", "server.key")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(str(cert), str(key), str(other_pem))


def test_rsa_key_and_both_encodings(tmp_path):
    issued = tls.issue("rsa-board", key_type="rsa", ca=True)
    assert isinstance(issued.key, rsa.RSAPrivateKey)
    assert x509.load_der_x509_certificate(issued.cert_der) == issued.certificate
    assert x509.load_pem_x509_certificate(issued.cert_pem) == issued.certificate
    loaded = serialization.load_der_private_key(issued.key_der, None)
    assert loaded.private_numbers() == issued.key.private_numbers()
    cert, key = issued.write(tmp_path, "c.pem", "k.pem")
    handshake(str(cert), str(key), str(cert))


def test_unknown_key_type_is_refused():
    with pytest.raises(ValueError, match="key type"):
        tls.issue("x", key_type="dsa")  # type: ignore[arg-type]


def test_validity_window_and_pin():
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    issued = tls.issue("x", days=30, backdate=dt.timedelta(days=1), now=now)
    assert issued.certificate.not_valid_before_utc == now - dt.timedelta(days=1)
    assert issued.certificate.not_valid_after_utc == now + dt.timedelta(days=30)
    assert len(issued.sha256) == 64 and issued.sha256 == issued.sha256.lower()
    assert issued.sha256 != tls.issue("x", now=now).sha256


def test_no_hosts_means_no_san():
    issued = tls.issue("ca", hosts=())
    with pytest.raises(x509.ExtensionNotFound):
        issued.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_rewriting_a_key_makes_it_owner_only(tmp_path):
    (tmp_path / "k.pem").write_bytes(b"old")
    (tmp_path / "k.pem").chmod(0o644)
    _, key = tls.issue("x").write(tmp_path, "c.pem", "k.pem")
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
