"""Throwaway certificates for loopback TLS: the one place the project builds them (cryptography).

The embedded server, the conformance suite's self-started target, its client harness (a CA of
its own and a leaf it signs) and the client's tests all issue here; the variants are parameters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = ("127.0.0.1", "localhost")
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyType = Literal["ec", "rsa"]
Usage = Literal["ca", "server"]

# What each role may do with its key: a CA signs certificates and CRLs, a server signs handshakes.
_KEY_USAGE = {
    "ca": {"key_cert_sign": True, "crl_sign": True},
    "server": {"digital_signature": True},
}
_NO_USAGE = dict.fromkeys(
    (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ),
    False,
)


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key, in the encodings its users load."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        return self._key_bytes(serialization.Encoding.PEM)

    @property
    def key_der(self) -> bytes:
        return self._key_bytes(serialization.Encoding.DER)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the DER certificate: what a client pins."""
        return hashlib.sha256(self.cert_der).hexdigest()

    def _key_bytes(self, encoding: serialization.Encoding) -> bytes:
        return self.key.private_bytes(
            encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write(self, directory: str | Path, cert_name: str, key_name: str) -> tuple[Path, Path]:
        """PEM files in `directory` (made if missing); the key is owner-only from its creation."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = folder / cert_name, folder / key_name
        cert_path.write_bytes(self.cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through os.open: tighten it first
        with os.fdopen(fd, "wb") as f:
            f.write(self.key_pem)
        return cert_path, key_path


def general_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """Subject alternative names: an IP address where the host parses as one, else a DNS name."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def new_key(key_type: KeyType = "ec") -> PrivateKey:
    """EC P-256 (what the board can afford) or RSA 2048."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"key type {key_type!r} is not 'ec' or 'rsa'")


def issue(
    common_name: str,
    *,
    hosts: Sequence[str] = LOOPBACK,
    authority: Issued | None = None,
    ca: bool = False,
    path_length: int | None = None,
    usage: Usage | None = None,
    server_auth: bool = False,
    key_ids: bool = False,
    key_type: KeyType = "ec",
    days: float = 2,
    backdate: dt.timedelta = dt.timedelta(minutes=5),
    now: dt.datetime | None = None,
) -> Issued:
    """One certificate: self-signed unless an `authority` signs it.

    `hosts` become the SAN (none: no SAN); `usage` adds a critical KeyUsage; `server_auth` the
    serverAuth extended usage; `key_ids` the subject and authority key identifiers that strict
    verifiers want on CAs and the leaves they sign. Validity starts `backdate` before `now`.
    """
    key = new_key(key_type)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    signer = authority.key if authority is not None else key
    start = (now or dt.datetime.now(dt.UTC)) - backdate
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(authority.certificate.subject if authority is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + backdate + dt.timedelta(days=days))
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(general_names(hosts)), critical=False
        )
    builder = builder.add_extension(
        x509.BasicConstraints(ca=ca, path_length=path_length), critical=True
    )
    if usage is not None:
        builder = builder.add_extension(
            x509.KeyUsage(**{**_NO_USAGE, **_KEY_USAGE[usage]}), critical=True
        )
    if server_auth:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if key_ids:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def new_authority(common_name: str) -> Issued:
    """A throwaway CA that may sign leaves but no further CAs."""
    return issue(common_name, hosts=(), ca=True, path_length=0, usage="ca", key_ids=True)


def issue_leaf(authority: Issued, common_name: str, hosts: Sequence[str] = LOOPBACK) -> Issued:
    """A server certificate signed by `authority`, for `hosts`."""
    return issue(common_name, hosts=hosts, authority=authority, server_auth=True, key_ids=True)


def make_self_signed(
    directory: str,
    hosts: tuple[str, ...] = LOOPBACK,
    common_name: str = "reference-server-loopback",
) -> tuple[str, str]:
    """A self-signed EC P-256 certificate for loopback, its own CA: (cert.pem, key.pem) paths."""
    issued = issue(common_name, hosts=hosts, ca=True)
    cert, key = issued.write(directory, "cert.pem", "key.pem")
    return os.path.abspath(cert), os.path.abspath(key)
