"""TOTP: the second factor (RFC 6238) in `POST /api/auth/verify`.

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import base64

from conformance import PICKS_STEPS, SPENDS_STEPS, oracle, requirement
from conformance.api import body_of
from conformance.blocking import blocked
from conformance.checks import describe, expect_error, expect_status, wrong_code

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@requirement(
    "TOTP-1",
    "codes are RFC 6238 SHA1/6/30 s, as the checked oracle computes them",
    needs=(PICKS_STEPS,),
)
def test_TOTP_1_rfc6238_code_accepted(api, conformance, account, notes):
    oracle.self_check()
    assert conformance.info.get("totp") == {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "skew_steps": 1,
    }, f"/api/info totp: {conformance.info.get('totp')}"
    challenge, code, step = conformance.challenge_with_code(api, account, offset=0)
    response = api.verify(challenge, code)
    expect_status(response, 200)
    notes.append(
        "pyotp reproduced the RFC 6238 Appendix B and RFC 4226 Appendix D vectors; the target "
        "accepted its code for the current step. Not visible black-box: the 64-bit step counter."
    )


@requirement(
    "TOTP-2", "clocks drift: the codes of steps T-1, T and T+1 are accepted", needs=(PICKS_STEPS,)
)
def test_TOTP_2_drift_window_accepted(api, conformance, account):
    for offset in (-1, 0, 1):
        challenge, code, step = conformance.challenge_with_code(api, account, offset=offset)
        response = api.verify(challenge, code)
        assert response.status_code == 200, (
            f"the code of step T{offset:+d} was refused: {describe(response)}"
        )
        body = body_of(response)
        assert isinstance(body, dict) and body.get("status") == "success"


@requirement("TOTP-3", "a wider window than ±1 step makes guessing easier", needs=(PICKS_STEPS,))
def test_TOTP_3_outside_window_rejected(api, conformance, account, notes):
    conformance.ready(account)  # any wait for a usable step comes before the challenge
    issued = conformance.now
    challenge = conformance.login_ok(api, account, then_verify=False)
    step = oracle.step_of(conformance.now)
    # T-2 proves something only while it is newer than the last accepted step (else a refusal
    # is just TOTP-4's); T+2 always is. Both are sent at once: no wait while the challenge ages.
    offsets = [o for o in (-2, 2) if account.last_step is None or step + o > account.last_step]
    if -2 not in offsets:
        notes.append(f"T-2 not sent: the account's last accepted step is {account.last_step}")
    for offset in offsets:
        code = oracle.code_at_step(account.secret, step + offset)
        response = api.verify(challenge, code)
        assert response.status_code != 200, f"the code of step T{offset:+d} was accepted"
        if response.status_code == 429:  # a lock the lockout rules do not explain: LOCK-1's
            blocked("LOCK-1", f"the code of step T{offset:+d} answered {describe(response)}")
        expect_error(response, 401, "invalid_code")
    # A wrong code does not consume the challenge (DECISIONS): the right one still works.
    code, step = conformance.next_code(account)
    if not conformance.alive(issued):  # the suite was slow, not the target wrong
        notes.append("the challenge aged out before the right code; a new one was used")
        challenge, code, step = conformance.challenge_with_code(api, account)
    response = api.verify(challenge, code)
    conformance.succeeded(response, "the right code after wrong ones", step)


@requirement(
    "TOTP-4",
    "a code is accepted once (RFC 6238 §5.2), and a replay looks wrong",
    needs=(SPENDS_STEPS,),
)
def test_TOTP_4_replay_rejected(api, conformance, account):
    challenge = conformance.login_ok(api, account)
    code, step = conformance.next_code(account)
    first = api.verify(challenge, code)
    conformance.succeeded(first, "the first use of a code", step)
    # The replay, a wrong code and a later step's code on one challenge: a refused code does
    # not consume it (DECISIONS), so one login serves all three.
    conformance.ready(account)  # any wait for the later step comes before the challenge
    challenge = conformance.login_ok(api, account, then_verify=False)
    replay = api.verify(challenge, code)
    assert replay.status_code != 200, f"the code of step {step} was accepted twice"
    replay_body = expect_error(replay, 401, "invalid_code")
    wrong = api.verify(challenge, wrong_code(code))
    wrong_body = expect_error(wrong, 401, "invalid_code")
    assert replay_body == wrong_body, (
        f"a replayed code answers {replay_body}, a wrong one {wrong_body}: the replay is revealed"
    )
    # A later step is still accepted: the refusal was about the step, not the account.
    code, later = conformance.next_code(account)
    response = api.verify(challenge, code)
    if (body_of(response) or {}).get("error") == "invalid_challenge":  # CHAL-2's rule, not ours
        response = api.verify(conformance.login_ok(api, account), code)
    expect_status(response, 200)


@requirement(
    "TOTP-5", "only 6 ASCII digits are a code; anything else is not a guess", needs=(SPENDS_STEPS,)
)
def test_TOTP_5_malformed_code_not_counted(api, conformance, account, notes):
    conformance.ready(account)
    issued = conformance.now
    challenge = conformance.login_ok(api, account, then_verify=False)
    code, _ = conformance.next_code(account)
    malformed = [
        code.translate(ARABIC_INDIC),
        code.translate(FULLWIDTH),
        code[:5],
        code + "0",
        f"{code[:3]} {code[3:]}",
        f" {code}",
        f"{code}\n",
        code[:5] + "a",
        "",
    ]
    for bad in malformed:
        response = api.verify(challenge, bad)
        assert response.status_code != 200, f"the code {bad!r} (not 6 ASCII digits) was accepted"
        expect_error(response, 400, "invalid_request")
    response = api.post_json(
        "/api/auth/verify", {"challenge_token": challenge, "totp_code": int(code)}
    )
    expect_error(response, 400, "invalid_request")
    # Ten malformed codes counted nothing: the account is not locked, a well-formed wrong code
    # is a failure (401 invalid_code, which does not consume the challenge) and the right code
    # then works.
    code, step = conformance.next_code(account)
    if not conformance.alive(issued):  # the suite was slow: judge on a new challenge
        notes.append("the challenge aged out before the right code; a new one was used")
        response = api.login(account.username, account.password)
        assert response.status_code != 429, "malformed codes were counted (account locked)"
        challenge, code, step = conformance.challenge_with_code(api, account)
    response = conformance.wrong_code(api, account, challenge)
    assert response.status_code != 429, "malformed codes were counted as failures (account locked)"
    expect_error(response, 401, "invalid_code")
    response = api.verify(challenge, code)
    assert response.status_code != 429, "malformed codes were counted as failures (account locked)"
    conformance.succeeded(response, "the right code after malformed ones", step)


@requirement(
    "TOTP-6",
    "constant-time compares; black-box: near-miss tokens are refused",
    needs=(SPENDS_STEPS,),
)
def test_TOTP_6_near_miss_tokens_refused(api, conformance, account, notes):
    challenge = conformance.login_ok(api, account)
    near = challenge[:-1] + ("A" if challenge[-1] != "A" else "B")
    code, step = conformance.next_code(account)
    expect_error(api.verify(near, code), 401, "invalid_challenge")
    response = api.verify(challenge, code)
    conformance.succeeded(response, "a sign-in", step)
    token = body_of(response)["session_token"]
    near_token = token[:-1] + ("A" if token[-1] != "A" else "B")
    near_answer = api.dashboard(near_token)
    expect_error(near_answer, 401, "invalid_token")
    notes.append(
        "near-miss challenge and session tokens (last character changed) are refused; "
        "the compare's timing is not measured black-box"
    )


@requirement(
    "TOTP-7",
    "a board without NTP must not judge codes against a wrong clock",
    needs=(SPENDS_STEPS,),
)
def test_TOTP_7_clock_not_synced(api, conformance, account, notes):
    info = body_of(api.info())
    assert isinstance(info, dict) and isinstance(info.get("time_synced"), bool)
    if info["time_synced"]:
        notes.append(
            "the target reports time_synced: true; the 503 clock_not_synced path was not seen"
        )
        challenge = conformance.login_ok(api, account)
        code, step = conformance.next_code(account)
        response = api.verify(challenge, code)
        assert response.status_code != 503, (
            f"time_synced is true but verify said {describe(response)}"
        )
        conformance.succeeded(response, "a sign-in", step)
        return
    code, _ = conformance.next_code(account)  # any wait comes before the challenge
    challenge = conformance.login_ok(api, account, then_verify=False)
    expect_error(api.verify(challenge, code), 503, "clock_not_synced")
    expect_error(api.verify(challenge, wrong_code(code)), 503, "clock_not_synced")


def _secret_forms(secret_b32: str) -> list[str]:
    raw = oracle.secret_bytes(secret_b32)
    b32 = base64.b32encode(raw).decode()
    return [
        b32,
        b32.rstrip("="),
        b32.lower().rstrip("="),
        raw.hex(),
        base64.b64encode(raw).decode(),
    ]


@requirement("TOTP-8", "secrets are long enough and never leave the server")
def test_TOTP_8_secret_never_returned(api, conformance, session, notes):
    for spec in conformance.target.profile.accounts:
        bits = len(oracle.secret_bytes(spec.totp_secret)) * 8
        assert bits >= 128, f"account {spec.username} has a {bits}-bit TOTP secret (< 128)"
    api.dashboard(session.token)
    api.info()
    forms = [
        f for spec in conformance.target.profile.accounts for f in _secret_forms(spec.totp_secret)
    ]
    seen = 0
    for recorder in conformance.recorders:
        for headers, body in list(recorder.raw_responses):
            text = body.decode("utf-8", "replace") + "\n".join(f"{k}: {v}" for k, v in headers)
            seen += 1
            for form in forms:
                assert form not in text, "a response contains an account's TOTP secret"
    notes.append(
        f"no TOTP secret in any of {seen} responses; how secrets were generated is not visible"
    )
