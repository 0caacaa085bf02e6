"""Throwaway certificates for loopback TLS, from the reference server's issuer (cryptography):
the default run's server certificate and the client harness's CAs."""

from __future__ import annotations

from reference_server.tls import LOOPBACK, Issued, issue_leaf, make_self_signed, new_authority

__all__ = ["LOOPBACK", "Issued", "issue_leaf", "make_self_signed", "new_authority"]
