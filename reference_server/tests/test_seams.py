# ruff: noqa: S106 - test credentials
"""What the reference server takes from its caller (constructor arguments, as a deployment would
give them): policies, the clock's sync state, the app around the Authenticator. The mutants of
the conformance suite are built from these in conformance/tests/mutants.py."""

from __future__ import annotations

import functools

import pytest

from reference_server.core.lockout import Lockout
from reference_server.core.totp import TotpPolicy
from reference_server.edge.app import protocol_app

from .conftest import challenge, code_for, login, verify


def fails_then(client, server, n):
    for _ in range(n):
        assert login(client, server, password="wrong").status_code == 401
    return login(client, server).status_code


def test_reference_baseline(make_server, make_client):
    server = make_server()
    assert fails_then(make_client(server), server, 5) == 429


@pytest.mark.parametrize("max_failures, expected", [(5, 429), (6, 200)])
def test_a_lockout_policy_is_used_as_given(make_server, make_client, max_failures, expected):
    server = make_server(lockout=functools.partial(Lockout, max_failures=max_failures))
    c = make_client(server)
    assert fails_then(c, server, 5) == expected
    info = c.get("/api/info").json()["lockout"]
    assert info["max_failures"] == 5  # the wire format's constant
    assert info["duration_s"] == 300  # the profile's duration reached the given policy


@pytest.mark.parametrize("skew, offset, expected", [(2, 2, 200), (0, 1, 401), (1, 1, 200)])
def test_a_totp_policy_is_used_as_given(make_server, make_client, skew, offset, expected):
    server = make_server(totp=functools.partial(TotpPolicy, skew_steps=skew))
    c = make_client(server)
    assert verify(c, challenge(c, server), code_for(server, 0, offset)).status_code == expected
    assert c.get("/api/info").json()["totp"]["skew_steps"] == 1


def test_time_not_synced(make_server, make_client):
    server = make_server(time_synced=lambda: False)
    c = make_client(server)
    assert verify(c, challenge(c, server), code_for(server)).status_code == 503


def test_the_app_around_the_authenticator_is_given(make_server, make_client):
    built = []

    def bare(auth, clock, hashing):
        built.append((auth, hashing))
        return protocol_app(auth, hashing=hashing)  # no input limits, no Date / no-store layer

    server = make_server(app=bare)
    c = make_client(server)
    r = c.unchecked("GET", "/api/info")
    assert r.status_code == 200 and "cache-control" not in r.headers
    assert built == [(server.auth, server.hashing)]
    server.restart()
    # rebuilt around the reopened store, with the same pool
    assert len(built) == 2 and built[1] == (server.auth, server.hashing)
