"""CHAL: challenge tokens (from login, spent by verify).

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import secrets

from conformance import SEVERAL_ACCOUNTS, SPENDS_STEPS, WAITS_FOR_EXPIRY, oracle, requirement
from conformance.api import body_of
from conformance.checks import describe, expect_error, expect_status, token_bits
from conformance.together import together

UNIQUE_TOKENS = 6  # challenge tokens compared for uniqueness (the run's so far count)
OWN_TOKENS = 2  # of them, issued for the owner (a token made from the name alone repeats)


@requirement(
    "CHAL-1",
    "a challenge cannot be guessed, and opens only its own account",
    needs=(SPENDS_STEPS, SEVERAL_ACCOUNTS),
)
def test_CHAL_1_challenge_opaque_and_bound(api, conformance, two_accounts):
    owner, other = two_accounts
    # Every challenge the run was issued so far counts (each login is a slow hash); more are
    # asked for, side by side, until UNIQUE_TOKENS are compared, OWN_TOKENS of them the owner's.
    with conformance.model.lock:
        earlier = list(conformance.model.issued)
    own = sum(1 for _, name in earlier if name == owner.username)
    more = max(UNIQUE_TOKENS - 1 - len(earlier), OWN_TOKENS - 1 - own, 0)
    logins = together(api, [lambda a: a.login(owner.username, owner.password)] * more)
    for response in logins:
        conformance.succeeded(response, "a login with the right password")
    tokens = [token for token, _ in earlier]
    tokens += [str(body_of(response)["challenge_token"]) for response in logins]
    # Both accounts' codes are ready before the last challenge is taken: no wait may follow it
    # (a short challenge would lapse, and the target rightly answer invalid_challenge).
    while True:
        conformance.ready(owner)
        before = conformance.now
        other_code, _ = conformance.next_code(other)
        if conformance.now - before < 0.5:
            break
    tokens.append(conformance.login_ok(api, owner, then_verify=False))
    assert len(set(tokens)) == len(tokens), "the same challenge token was issued twice"
    for token in tokens:
        assert token_bits(token) >= 128, (
            f"a challenge token of {len(token)} characters carries "
            f"at most {token_bits(token):.0f} bits"
        )
    # The other account's valid code does not pass the owner's challenge.
    response = api.verify(tokens[-1], other_code)
    assert response.status_code != 200, "a challenge accepted another account's code"
    expect_error(response, 401, "invalid_code")
    # The owner's own code does, and the session is the owner's.
    code, step = conformance.next_code(owner)
    response = api.verify(tokens[-1], code)
    conformance.succeeded(response, "the owner's own code", step)
    dashboard = api.dashboard(body_of(response)["session_token"])
    expect_status(dashboard, 200)
    user = (body_of(dashboard) or {}).get("user", {})
    assert user.get("username") == owner.username, f"the session is not the owner's: {user}"


@requirement("CHAL-2", "a challenge is single-use: a stolen one is worthless after login")
def test_CHAL_2_challenge_single_use(api, conformance):
    # Each verify offers a factor the target takes (on a fresh challenge): the code of an unused
    # step, or a spare backup code (live clock). Two, so an account that has two at hand.
    with conformance.accounts(
        api, 1, clean=False, prefer=lambda a: conformance.factors_at_hand(a) >= 2
    ) as (account,):
        _challenge_used_twice(api, conformance, account)


def _challenge_used_twice(api, conformance, account):
    challenge, _, _ = conformance.sign_in_on(api, account, any_factor=True)
    factor, _ = conformance.any_factor(account)
    again = api.post_json("/api/auth/verify", {"challenge_token": challenge, **factor})
    assert again.status_code != 200, "a used challenge opened a second session"
    expect_error(again, 401, "invalid_challenge")


@requirement("CHAL-3", "a challenge expires after challenge_ttl_s", needs=(WAITS_FOR_EXPIRY,))
def test_CHAL_3_challenge_expires(api, conformance, account):
    ttl = conformance.ttl("challenge_ttl_s", 120)
    conformance.require_wait(ttl + 2, "challenge expiry")
    issued = conformance.now
    challenge = conformance.login_ok(api, account, then_verify=False)
    conformance.wait_until(issued + ttl + 1.5)
    # A well-formed code of the current step: whether or not the target has taken it before,
    # an expired challenge is refused as such, before any code is looked at (DECISIONS).
    code = oracle.code_at_step(account.secret, oracle.step_of(conformance.now))
    response = api.verify(challenge, code)
    assert response.status_code != 200, f"a challenge older than {ttl:.0f} s was accepted"
    expect_error(response, 401, "invalid_challenge")


@requirement("CHAL-4", "forged challenges are refused cleanly, never with a 5xx")
def test_CHAL_4_unknown_challenge(api, conformance):
    in_schema = [
        secrets.token_urlsafe(32),
        "x",
        "A" * 128,
        "é" * 20,
        "../../etc/passwd",
        "' OR '1'='1",
        "null",
        "\u0000abc",
        "%00%ff",
    ]
    for token in in_schema:
        response = api.verify(token, "123456")
        assert response.status_code < 500, f"forged challenge: {describe(response)}"
        expect_error(response, 401, "invalid_challenge")
    for token in ("", "A" * 129):
        response = api.verify(token, "123456")
        expect_status(response, 400, 401)
