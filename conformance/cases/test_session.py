"""SESS: session tokens (verify issues them; dashboard and logout take them).

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

from conformance import WAITS_FOR_EXPIRY, requirement
from conformance.api import body_of
from conformance.checks import (
    describe,
    expect_error,
    expect_json_object,
    expect_no_store,
    expect_status,
    token_bits,
)
from conformance.session import not_run


def _issue(api, conformance, account):
    """Sign in (a spare backup code only where a TOTP step would need a wait: flows.py)."""
    response, _ = conformance.sign_in_response(api, account, any_factor=True)
    return response


@requirement("SESS-1", "a session token is unguessable, typed Bearer and never cached")
def test_SESS_1_session_token_issued(api, conformance, account):
    earlier = set(conformance.session_tokens)
    tokens = []
    # The login's answer is a token response too (its challenge then serves the sign-in).
    conformance.ready(account)  # any wait for a usable step comes before the challenge
    login = api.login(account.username, account.password)
    conformance.succeeded(login, "a login with the right password")
    challenge = str(body_of(login)["challenge_token"])
    for _ in range(1):
        response, _ = conformance.sign_in_response(api, account, True, challenge)
        body = expect_json_object(response)
        assert set(body) == {"status", "session_token", "token_type", "expires_in"}, sorted(body)
        assert body["status"] == "success"
        assert body["token_type"] == "Bearer", (  # noqa: S105 - the token type, not a secret
            f"token_type must be Bearer: {describe(response)}"
        )
        assert body["expires_in"] == conformance.info["session_ttl_s"], (
            f"expires_in {body['expires_in']} != session_ttl_s {conformance.info['session_ttl_s']}"
        )
        expect_no_store(response)
        token = body["session_token"]
        assert isinstance(token, str) and token_bits(token) >= 128, (
            f"a session token of {len(token)} characters carries "
            f"at most {token_bits(token):.0f} bits"
        )
        tokens.append(token)
    assert tokens[0] not in earlier, "a session token was issued twice"
    expect_no_store(login)


@requirement("SESS-2", "a valid token opens the dashboard and says when it expires")
def test_SESS_2_dashboard(api, conformance, session):
    token, before, after = session.token, session.sent, session.received
    response = api.dashboard(token)
    expect_status(response, 200)
    body = expect_json_object(response)
    assert body.get("status") == "success", describe(response)
    assert (body.get("user") or {}).get("username") == session.username, f"user: {body.get('user')}"
    session = body.get("session") or {}
    issued, expires = session.get("issued_at"), session.get("expires_at")
    assert isinstance(issued, int) and isinstance(expires, int), f"session: {session}"
    slack = 2 + conformance.clock.uncertainty
    assert before - slack <= issued <= after + slack, (
        f"issued_at {issued} is not when the session was issued (~{before:.0f})"
    )
    ttl = conformance.info["session_ttl_s"]
    # issued_at is whole seconds; an expires_at rounded up (never early) may be one more.
    assert expires - issued in (ttl, ttl + 1), (
        f"expires_at - issued_at = {expires - issued}, not session_ttl_s ({ttl})"
    )
    expect_status(api.dashboard(token, scheme="bearer"), 200)


@requirement("SESS-3", "RFC 6750: 401 answers tell the client why, in WWW-Authenticate")
def test_SESS_3_www_authenticate(api, conformance, session, notes):
    for response in (api.dashboard(None), api.logout(None)):
        expect_error(response, 401, "missing_token")
        challenge = response.headers.get("www-authenticate", "")
        assert challenge.lower().startswith("bearer"), f"WWW-Authenticate {challenge!r}"
        assert "realm=" in challenge, f"WWW-Authenticate without realm: {challenge!r}"
    token = session.token
    expect_status(api.logout(token), 204)
    for response in (
        api.dashboard("not-a-valid-token-" + "x" * 30),
        api.dashboard(token),
        api.logout(token),
    ):
        if response.status_code in (200, 204):  # logout did not revoke: SESS-5's rule
            notes.append(f"not judged: {response.request.url.path} after logout (SESS-5)")
            continue
        expect_error(response, 401, "invalid_token")
        challenge = response.headers.get("www-authenticate", "")
        assert challenge.lower().startswith("bearer"), f"WWW-Authenticate {challenge!r}"
        assert 'error="invalid_token"' in challenge, (
            f'WWW-Authenticate lacks error="invalid_token": {challenge!r}'
        )


@requirement(
    "SESS-4", "a session ends session_ttl_s after issue, not later", needs=(WAITS_FOR_EXPIRY,)
)
def test_SESS_4_session_expires(api, conformance, notes):
    ttl = conformance.ttl("session_ttl_s", 3600)
    conformance.require_wait(ttl + 2, "session expiry")
    # The account is needed for the sign-in only: others may use it while the session ages.
    with conformance.accounts(api, 1, clean=False) as (account,):
        sent = conformance.now
        token = body_of(_issue(api, conformance, account))["session_token"]
        received = conformance.now
    if ttl > 3:
        conformance.wait_until(sent + ttl - 1.5)
        response = api.dashboard(token)
        # Issued after `sent`: an answer back before sent + ttl was judged while still valid.
        # A server counts in whole seconds: the session may end up to 1 s before sent + ttl.
        judged_in_time = conformance.now < sent + ttl - 1 - conformance.clock.uncertainty
        assert response.status_code == 200 or not judged_in_time, (
            f"the session ended before {ttl - 1.5:.1f} s of its {ttl:.0f} s: {describe(response)}"
        )
        if not judged_in_time:
            notes.append(f"the check at {ttl - 1.5:.1f} s was answered after the session ended")
    conformance.wait_until(received + ttl + 1.5)
    response = api.dashboard(token)
    assert response.status_code != 200, f"the session was still valid after {ttl + 1.5:.1f} s"
    expect_error(response, 401, "invalid_token")


@requirement("SESS-5", "logout revokes the token at once")
def test_SESS_5_logout_revokes(api, conformance, session):
    token = session.token
    expect_status(api.dashboard(token), 200)
    response = api.logout(token)
    expect_status(response, 204)
    assert response.content == b"", "204 with a body"
    after = api.dashboard(token)
    assert after.status_code != 200, "the dashboard still opened after logout"
    expect_error(after, 401, "invalid_token")


@requirement("SESS-6", "a lost phone should not lock the owner out: single-use backup codes")
def test_SESS_6_backup_code(api, conformance, notes):
    accounts = conformance.pool.accounts
    if not any(a.unused_backup_codes() for a in accounts):
        not_run("the target profile lists no unused backup_codes for the accounts")
    if not any(a.fresh_backup_codes() for a in accounts):
        # Refused or not, a code this suite sent before says nothing: it spent it then.
        total = sum(len(a.spec.backup_codes) for a in accounts)
        not_run(
            f"all {total} backup codes of the profile have been used by earlier runs of this "
            "suite: provision new codes"
        )
    with conformance.accounts(api, 1, where=lambda a: bool(a.fresh_backup_codes())) as taken:
        _backup_code_once(api, conformance, taken[0], notes)


def _backup_code_once(api, conformance, account, notes):
    # Only codes this suite never sent (the ledger): a refused one is evidence, unless the owner
    # spent it. Try a few, staying short of the lock, until one is taken.
    challenge = conformance.login_ok(api, account, then_verify=False)
    tries = conformance.policy.max_failures - 1 - account.failures
    refused = 0
    for code in account.backup_codes_to_try()[: min(tries, len(account.fresh_backup_codes()))]:
        response = api.verify(challenge, backup_code=code)
        if response.status_code == 200:
            break
        expect_error(response, 401, "invalid_code")
        refused += 1
    else:
        if conformance.backup_codes_work:
            not_run(f"{refused} backup codes of {account.username} were refused: spent before?")
        raise AssertionError(
            f"none of {refused} backup codes of the profile that this suite never sent was taken"
        )
    again = api.verify(conformance.login_ok(api, account, then_verify=False), backup_code=code)
    assert again.status_code != 200, "a used backup code was accepted again"
    expect_status(again, 401)
    notes.append(
        f"one backup code of the profile was spent by this run ({refused} never sent before "
        "were refused: spent by someone else?)"
    )
