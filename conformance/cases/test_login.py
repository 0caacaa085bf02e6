"""LOGIN: the first factor (`POST /api/auth/login`).

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import re
import statistics

from conformance import LOCKS_ACCOUNT, SEVERAL_ACCOUNTS, requirement
from conformance.api import body_of
from conformance.checks import (
    describe,
    expect_error,
    expect_json_object,
    expect_status,
    unknown_name,
)
from conformance.together import together

# A stored hash in its usual text forms (PHC `$argon2id$...`, `$pbkdf2-sha256$...`, `$scrypt$`,
# crypt's `$2b$...`): a structure, not a word that free-form text (`/api/info`'s `server`) may use.
TIMED_ACCOUNTS = 3  # up to 12 wrong passwords and 12 unknown names: medians of 12 each
# LOGIN-4 in two rounds: medians this close after 6 + 6 logins pass without the other 6 + 6;
# otherwise all 12 + 12 are judged against the 25% bound, exactly as if there were no first look.
FIRST_LOOK_ROUNDS = 2
FIRST_LOOK_PASS = 0.10
MAX_APART = 0.25
HASH_MARKERS = re.compile(r"\$(argon2(id|i|d)|pbkdf2(-sha\d+)?|scrypt|2[aby])\$", re.IGNORECASE)


@requirement("LOGIN-1", "the right password yields a challenge, never a session")
def test_LOGIN_1_password_gives_challenge(api, conformance, account):
    response = api.login(account.username, account.password)
    expect_status(response, 200)
    body = expect_json_object(response)
    assert set(body) == {"status", "challenge_token", "expires_in"}, f"keys: {sorted(body)}"
    assert body["status"] == "2fa_required", f"status must be 2fa_required: {describe(response)}"
    assert isinstance(body["challenge_token"], str) and body["challenge_token"]
    assert body["expires_in"] == conformance.info["challenge_ttl_s"], (
        f"expires_in {body['expires_in']} != challenge_ttl_s {conformance.info['challenge_ttl_s']}"
    )
    # (its Cache-Control: no-store is a token response's rule: SESS-1)
    # No session is issued by this step: the challenge does not open the dashboard.
    dashboard = api.dashboard(body["challenge_token"])
    assert dashboard.status_code == 401, (
        f"a challenge token opened the dashboard: {describe(dashboard)}"
    )


@requirement("LOGIN-2", "a wrong password is refused with invalid_credentials")
def test_LOGIN_2_wrong_password(api, conformance, account):
    response = conformance.wrong_password(api, account)
    expect_error(response, 401, "invalid_credentials")
    assert "challenge_token" not in response.text


def _same_answer(real, unknown, what: str) -> None:
    assert real.status_code == unknown.status_code, (
        f"{what}: wrong password answered {real.status_code}, unknown user {unknown.status_code}"
    )
    real_body, unknown_body = body_of(real) or {}, body_of(unknown) or {}
    assert sorted(real_body) == sorted(unknown_body), (
        f"{what}: body keys differ: {sorted(real_body)} vs {sorted(unknown_body)}"
    )
    assert real_body.get("error") == unknown_body.get("error"), (
        f"{what}: error {real_body.get('error')!r} vs {unknown_body.get('error')!r}"
    )
    skip = {"date", "retry-after"}
    real_headers = {k.lower(): v for k, v in real.headers.items() if k.lower() not in skip}
    unknown_headers = {k.lower(): v for k, v in unknown.headers.items() if k.lower() not in skip}
    if what == "first failure":
        assert real_headers == unknown_headers, (
            f"{what}: headers differ apart from Date: {real_headers} vs {unknown_headers}"
        )
    else:
        assert set(real_headers) == set(unknown_headers), (
            f"{what}: header names differ: {sorted(real_headers)} vs {sorted(unknown_headers)}"
        )


@requirement(
    "LOGIN-3",
    "an unknown name answers and locks exactly like a wrong password",
    needs=(LOCKS_ACCOUNT,),
)
def test_LOGIN_3_no_user_enumeration(api, conformance, clean_account):
    account = clean_account
    name = unknown_name()
    real = conformance.wrong_password(api, account)
    unknown = api.login(name, account.password + "-wrong")
    expect_error(real, 401, "invalid_credentials")
    _same_answer(real, unknown, "first failure")
    # Four more failures each, the two names side by side (their hashes overlap): both the
    # account and the unknown name are then locked.
    for _ in range(conformance.policy.max_failures - 1):
        conformance.make_room(2)
        real, unknown = together(
            api,
            [
                lambda a: a.login(account.username, account.password + "-wrong"),
                lambda a: a.login(name, "wrong-password"),
            ],
        )
        _same_answer(real, unknown, "failures 2..5")
    real = conformance.locked_answer(api, account)  # five failures lock (LOCK-1's rule)
    unknown = api.login(name, "wrong-password")
    assert unknown.status_code == 429, (
        f"after 5 failures a real account answers 429 but an unknown name {describe(unknown)}: "
        "the lockout reveals which names exist"
    )
    _same_answer(real, unknown, "the 6th attempt")


@requirement(
    "LOGIN-4", "timing must not reveal whether a username exists", needs=(SEVERAL_ACCOUNTS,)
)
def test_LOGIN_4_timing_unknown_user(api, conformance, notes):
    """Wrong passwords and unknown names alternate, the accounts in turn, so that a load
    that comes and goes falls on both. A correct server's medians are a few percent apart:
    after the first look it passes at half the hashes. The first look can never fail a server
    (a pass there only skips samples), so a correct server fails no more often than with all
    12 + 12; a server 25% apart passes there only if 6 + 6 samples land within 10% (about 2%
    of runs at a 10% jitter, by a normal approximation of the medians)."""
    rounds = conformance.policy.max_failures - 1  # failures per account, one short of its lock
    known: list[float] = []
    unknown: list[float] = []
    with conformance.accounts(api, TIMED_ACCOUNTS) as accounts:
        api.info()  # the connection is open before anything is timed
        for done in range(1, rounds + 1):
            for account in accounts:
                conformance.make_room(2)
                response = conformance.wrong_password(api, account)
                expect_status(response, 401)
                known.append(response.elapsed.total_seconds())
                response = api.login(unknown_name(), "wrong-password")
                expect_status(response, 401)
                unknown.append(response.elapsed.total_seconds())
            if done == FIRST_LOOK_ROUNDS and _apart(known, unknown) <= FIRST_LOOK_PASS:
                break
    median_known, median_unknown = statistics.median(known), statistics.median(unknown)
    ratio = _apart(known, unknown)
    notes.append(
        f"median wrong password {median_known * 1000:.1f} ms, unknown user "
        f"{median_unknown * 1000:.1f} ms over {len(known)}+{len(unknown)} logins "
        f"({ratio:.0%} apart)"
    )
    assert ratio <= MAX_APART, (
        f"unknown-user logins take {median_unknown * 1000:.1f} ms (median) and wrong-password "
        f"logins {median_known * 1000:.1f} ms: {ratio:.0%} apart (> {MAX_APART:.0%})"
    )


def _apart(known: list[float], unknown: list[float]) -> float:
    """How far apart the medians are, relative to the wrong passwords' median."""
    median_known = statistics.median(known)
    return abs(statistics.median(unknown) - median_known) / median_known


@requirement("LOGIN-5", "passwords are stored hashed; black-box: no answer shows one")
def test_LOGIN_5_no_password_or_hash_in_answers(api, conformance, account, notes):
    # The answers of a sign-in are among those read: bringing an account to a known state
    # (reconcile.py) signed in already, unless no sign-in of this run succeeded.
    if not any(state.success_span[1] for state in conformance.model.states.values()):
        conformance.sign_in(api, account, any_factor=True)
    conformance.wrong_password(api, account)
    passwords = [spec.password for spec in conformance.target.profile.accounts]
    seen = 0
    for recorder in conformance.recorders:
        for headers, body in list(recorder.raw_responses):
            text = body.decode("utf-8", "replace") + "\n".join(f"{k}: {v}" for k, v in headers)
            seen += 1
            for password in passwords:
                assert password not in text, "a response contains an account's password"
            match = HASH_MARKERS.search(text)
            assert match is None, (
                f"a response contains what looks like a password hash: {match[0]!r}"
            )
    notes.append(
        f"checked {seen} responses: no password and no hash. Not visible black-box: how passwords "
        "are stored (salted slow hash) and whether they are compared in constant time."
    )
