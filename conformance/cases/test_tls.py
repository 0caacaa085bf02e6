"""TLS: transport.

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import ssl

from conformance import requirement
from conformance.rawsock import open_connection


@requirement("TLS-1", "codes and passwords cross the network; HTTPS keeps them private")
def test_TLS_1_https(conformance, notes):
    base_url = conformance.target.base_url
    assert base_url.startswith("https://"), f"the target is served over plain HTTP: {base_url}"
    with open_connection(base_url, conformance.verify) as sock:
        assert isinstance(sock, ssl.SSLSocket)
        version = sock.version()
        cert = sock.getpeercert(binary_form=True)
    notes.append(f"negotiated {version}; certificate of {len(cert or b'')} bytes")
    assert version in ("TLSv1.2", "TLSv1.3"), f"TLS version {version} is older than 1.2"
