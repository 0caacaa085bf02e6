"""Throwaway certificates like the board's: a self-signed EC P-256 leaf for 127.0.0.1."""

from __future__ import annotations

import datetime
from pathlib import Path

from reference_server.tls import issue


def self_signed(directory: Path, name: str = "board", ca: bool = True) -> tuple[Path, Path, bytes]:
    """Write `name.pem` and `name.key`; return their paths and the certificate's DER."""
    issued = issue(name, ca=ca, days=30, backdate=datetime.timedelta(days=1))
    cert_path, key_path = issued.write(directory, f"{name}.pem", f"{name}.key")
    return cert_path, key_path, issued.cert_der
