"""LOG: audit. The log is not visible black-box; what is visible is what the API gives away.

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

from conformance import SPENDS_STEPS, requirement
from conformance.checks import expect_status


@requirement(
    "LOG-1",
    "outcomes are audited, secrets never written; black-box: none echoed",
    needs=(SPENDS_STEPS,),
)
def test_LOG_1_no_secret_echoed(api, conformance, account, notes):
    challenge = conformance.login_ok(api, account)
    expect_status(conformance.wrong_code(api, account, challenge), 401)
    expect_status(conformance.wrong_password(api, account), 401)
    code, step = conformance.next_code(account)
    response = api.verify(challenge, code)
    conformance.succeeded(response, "a sign-in", step)
    leaked = [account.password, f'"{code}"']
    for recorder in [api.recorder]:
        for headers, body in list(recorder.raw_responses):
            text = body.decode("utf-8", "replace") + "\n".join(f"{k}: {v}" for k, v in headers)
            for secret in leaked:
                assert secret not in text, "a response echoes the password or the TOTP code"
    notes.append(
        "the audit log itself is not visible to a black-box suite: check the server's log for one "
        "line per login/verify outcome (time, username, source, outcome) and no secret"
    )
