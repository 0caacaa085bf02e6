"""INFO: server facts."""

from __future__ import annotations

import email.utils

import pytest

from reference_server.assembly import ProfileError, durations_for


def test_INFO_1_info_answers_the_facts(client, server):
    r = client.get("/api/info")
    assert r.status_code == 200
    info = r.json()
    assert info["api_version"] == "1"
    assert info["server_time"] == int(server.clock.now())
    assert info["time_synced"] is True
    assert info["totp"] == {"algorithm": "SHA1", "digits": 6, "period": 30, "skew_steps": 1}
    assert info["lockout"] == {"max_failures": 5, "duration_s": 300, "escalation": "double"}


def test_INFO_2_production_durations(client):
    info = client.get("/api/info").json()
    assert info["profile"] == "production"
    assert (info["lockout"]["duration_s"], info["session_ttl_s"], info["challenge_ttl_s"]) == (
        300,
        3600,
        120,
    )


def test_INFO_2_test_profile_shortens_durations_only(make_server, make_client):
    server = make_server(profile="test", lockout_seconds=7)
    info = make_client(server).get("/api/info").json()
    assert info["profile"] == "test"
    assert (info["lockout"]["duration_s"], info["session_ttl_s"], info["challenge_ttl_s"]) == (
        7,
        5,
        5,
    )
    assert info["lockout"]["max_failures"] == 5 and info["totp"]["skew_steps"] == 1


def test_INFO_2_production_refuses_overrides():
    with pytest.raises(ProfileError, match="production"):
        durations_for("production", session_ttl=5)


@pytest.mark.parametrize("path", ["/api/info", "/api/dashboard", "/nowhere"])
def test_INFO_3_date_header_from_the_server_clock(client, server, path):
    server.clock.advance(1234.0)
    r = client.get(path)
    date = email.utils.parsedate_to_datetime(r.headers["date"]).timestamp()
    assert abs(date - server.clock.now()) < 2
    assert r.headers["date"].endswith(" GMT")
    assert r.headers.get_list("date") == [r.headers["date"]]
