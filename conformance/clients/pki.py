"""A throwaway CA for one run: the client under test trusts it through `{ca_cert}`.

A second, unrelated CA signs the certificate of the "untrusted certificate" scenario: a client
that trusts only `{ca_cert}` must refuse it. The certificates themselves come from
the harness (conformance/harness/certs.py); this module names the files the stage hands out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.harness import certs as tls

HOSTS = tls.LOOPBACK


@dataclass(frozen=True)
class ServerCert:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Authority:
    name: str
    cert: Path
    issued: tls.Issued

    def issue(self, directory: Path, name: str) -> ServerCert:
        """A leaf for 127.0.0.1 and localhost, signed by this CA."""
        return _write(directory, name, tls.issue_leaf(self.issued, name, HOSTS))


def new_authority(directory: Path, name: str) -> Authority:
    issued = tls.new_authority(name)
    return Authority(name=name, cert=_write(directory, name, issued).cert, issued=issued)


def _write(directory: Path, name: str, issued: tls.Issued) -> ServerCert:
    return ServerCert(*issued.write(directory, f"{name}.pem", f"{name}.key"))
