"""Target profile validation: every mistake gets a sentence that says what to fix."""

from __future__ import annotations

import pytest

from conformance.profile import ProfileError, load_profile, profile_from_dict

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test value


def accounts(n: int) -> list[dict]:
    return [{"username": f"u{i}", "password": f"pw-{i}", "totp_secret": SECRET} for i in range(n)]


def test_a_valid_profile_loads(tmp_path):
    path = tmp_path / "board.toml"
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    lines = ['base_url = "https://192.168.1.50/"', 'ca_cert = "ca.pem"', 'name = "board"']
    for a in accounts(4):
        lines += ["[[accounts]]"] + [f'{k} = "{v}"' for k, v in a.items()]
    lines.append('backup_codes = ["aaaa-bbbb"]')
    path.write_text("\n".join(lines))
    profile = load_profile(path)
    assert profile.base_url == "https://192.168.1.50"
    assert profile.ca_cert == ca
    assert profile.verify == str(ca)
    assert profile.name == "board"
    assert len(profile.accounts) == 4
    assert profile.accounts[-1].backup_codes == ("aaaa-bbbb",)


def test_verify_tls_false_is_honoured():
    profile = profile_from_dict(
        {"base_url": "https://h", "verify_tls": False, "accounts": accounts(4)}
    )
    assert profile.verify is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"accounts": accounts(4)}, "missing key 'base_url'"),
        ({"base_url": "ftp://h", "accounts": accounts(4)}, "must be http(s)://"),
        ({"base_url": "https://h/api", "accounts": accounts(4)}, "must not have a path"),
        ({"base_url": "https://h"}, "needs at least 4 test accounts"),
        ({"base_url": "https://h", "accounts": accounts(2)}, "the profile has 2"),
        ({"base_url": "https://h", "accounts": accounts(4), "verify_tls": "no"}, "verify_tls"),
        (
            {"base_url": "https://h", "accounts": accounts(4), "ca_cert": "/nope.pem"},
            "does not exist",
        ),
        (
            {"base_url": "https://h", "accounts": accounts(4), "restart_command": ""},
            "restart_command",
        ),
        (
            {"base_url": "https://h", "accounts": [{"username": "a"}] + accounts(3)},
            "accounts[1]: missing key 'password'",
        ),
        (
            {
                "base_url": "https://h",
                "accounts": [{**accounts(1)[0], "totp_secret": "!!"}] + accounts(3),
            },
            "not base32",
        ),
        ({"base_url": "https://h", "accounts": accounts(3) + accounts(1)}, "distinct"),
    ],
)
def test_mistakes_are_named(data, message):
    with pytest.raises(ProfileError) as err:
        profile_from_dict(data)
    assert message in str(err.value)


def test_all_mistakes_are_reported_at_once():
    with pytest.raises(ProfileError) as err:
        profile_from_dict({"accounts": accounts(1)})
    text = str(err.value)
    assert "base_url" in text and "at least 4" in text


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ProfileError, match="no such file"):
        load_profile(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("base_url = ")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(bad)


def test_the_pool_prefers_the_account_with_the_oldest_step():
    from conformance.accounts import AccountPool
    from conformance.profile import AccountSpec

    pool = AccountPool([AccountSpec(f"u{i}", "p", SECRET) for i in range(4)])
    a, b, c, d = pool.accounts
    a.last_step, b.locked_until, c.last_step = 100, 50.0, 90  # b's lock ended long ago
    d.locked_until = 2000.0  # d is still locked
    d.failures = 0
    ranked = pool.candidates(now=1000.0)
    assert [x.username for x in ranked] == ["u1", "u2", "u0", "u3"]
    b.failures = 2
    assert pool.candidates(now=1000.0, max_failures=2)[0] is b
    assert pool.candidates(now=1000.0)[0] is c  # b needs a reset first when a clean one is wanted
