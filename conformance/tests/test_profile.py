"""Target profile validation: every mistake gets a sentence that says what to fix."""

from __future__ import annotations

import pytest

from conformance.profile import AccountSpec, ProfileError, load_profile, profile_from_dict

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


def test_timeout_s_is_the_requests_bound():
    from conformance.api import Api
    from conformance.recorder import Masker, Recorder

    default = profile_from_dict({"base_url": "https://h", "accounts": accounts(4)})
    slow = profile_from_dict({"base_url": "https://h", "accounts": accounts(4), "timeout_s": 60})
    assert default.timeout_s == 15.0 and slow.timeout_s == 60.0
    api = Api(slow.base_url, True, Recorder(Masker()), slow.timeout_s)
    try:
        assert api.client.timeout.read == 60.0 and api.client.timeout.connect == 60.0
    finally:
        api.close()


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
        ({"base_url": "https://h", "accounts": accounts(4), "timeout_s": 0}, "timeout_s"),
        ({"base_url": "https://h", "accounts": accounts(4), "timeout_s": "60"}, "timeout_s"),
        ({"base_url": "https://h", "accounts": accounts(4), "timeout_s": True}, "timeout_s"),
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


def _pool(specs):
    """A pool whose accounts are known (as after start-up reconciliation)."""
    from conformance.accounts import AccountPool
    from conformance.model import LockPolicy, TargetModel

    pool = AccountPool(TargetModel(specs, LockPolicy(300.0), lambda: 1000.0))
    for account in pool.accounts:
        account.state.known = True
    return pool


def test_the_pool_prefers_the_account_with_most_unused_steps():
    pool = _pool([AccountSpec(f"u{i}", "p", SECRET) for i in range(4)])
    a, b, c, d = pool.accounts
    # now = 1000 s is step 33: the target takes steps 32..34.
    a.state.last_step, b.state.locked_until, c.state.last_step = (
        33,
        50.0,
        32,
    )  # b's lock ended long ago
    d.state.locked_until = 2000.0  # d is still locked
    d.state.failures = 0
    assert [x.unused_steps(33) for x in (a, b, c)] == [1, 3, 2]
    ranked = pool.candidates(now=1000.0)
    assert [x.username for x in ranked] == ["u1", "u2", "u0", "u3"]
    b.state.failures = 2
    assert pool.candidates(now=1000.0, max_failures=2)[0] is b
    assert pool.candidates(now=1000.0)[0] is c  # b needs a reset first when a clean one is wanted


def test_a_case_spending_no_step_gets_the_account_with_fewest_unused_steps():
    pool = _pool([AccountSpec(f"u{i}", "p", SECRET) for i in range(3)])
    a, b, c = pool.accounts
    a.state.last_step, b.state.last_step = (
        34,
        32,
    )  # at step 33: a has spent every step, b has two left
    assert [x.username for x in pool.candidates(now=1000.0, spends_step=False)] == [
        "u0",
        "u1",
        "u2",
    ]
    # A case that spends steps gets an account with one left before one with none (that one
    # would wait up to a step), but after one that only needs a reset.
    c.state.failures = 1
    assert [x.username for x in pool.candidates(now=1000.0)] == ["u1", "u2", "u0"]


def test_a_clean_account_has_no_lock_behind_it():
    pool = _pool([AccountSpec(f"u{i}", "p", SECRET) for i in range(2)])
    locked_before, never = pool.accounts
    locked_before.state.locks = 1  # its lock ended; the next one would be escalated (LOCK-7)
    assert not locked_before.is_fresh(1000.0, max_failures=0)
    assert locked_before.is_fresh(1000.0, max_failures=2)
    assert pool.candidates(now=1000.0)[0] is never
