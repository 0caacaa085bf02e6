"""LOCK-8: failures from one source address are throttled across all usernames.

This case deliberately exhausts the suite's own source address. It must run alone and LAST of a
run (nothing after it may need a login from this address until the window has passed), and it
ends by waiting out `throttle.window_s` after its last failure, so that the next run starts clean.

PYTEST_DONT_REWRITE: a failure says the case's own words, not pytest's introspection.
"""

from __future__ import annotations

import bisect
import secrets
import time

from conformance import EXHAUSTS_THROTTLE, requirement
from conformance.attack import (
    client,
    fresh_name,
    info_of,
    judged_login,
    other_address,
    require,
    throttle_of,
)
from conformance.checks import describe
from conformance.model import Ends
from conformance.session import not_run

HOUSEHOLD_LIMIT = 50  # DECISIONS' default: a household's typos never reach it
UNSHOWN_BOUND = 2 * HOUSEHOLD_LIMIT  # failures tried when /api/info shows no `throttle`
MAX_SHOWN_LIMIT = 10 * HOUSEHOLD_LIMIT  # a larger limit shown is not counted to (not run)
THROTTLED_VERIFY_TRIES = 3  # verifies answered after the window could end, before not run


@requirement(
    "LOCK-8",
    "one address must not guess across many names unthrottled",
    needs=(EXHAUSTS_THROTTLE,),
)
def test_LOCK_8_per_address_throttle(api, conformance, notes):
    """Wrong passwords for fresh names, one attempt each, from the suite's address.

    With `throttle` {max_failures: M, window_s: W} in /api/info: at most M are judged (401)
    before a fresh name gets the lockout answer (429 `account_locked`, Retry-After, `retry_after`
    <= W); a verify from that address then gets it too (one answered otherwise after the window
    could have ended is no evidence: the window is filled again and the verify sent again, at
    most 3 times, else not run); a client at another address (127.0.0.2,
    loopback targets only) is still judged; once `retry_after` has passed, a fresh name is judged
    again. It needs a wait of about 2 W (not run without --long when that is over a minute),
    and is not run when M is over 500 (ten times a household's limit: not counted to).

    Without `throttle` in /api/info, the rule is: up to 100 failures (twice the default
    household limit of 50) are sent; a warning when none of them is refused with 429. A target
    that throttles without saying so passes, with a note.

    Afterwards (pass or fail) the case waits W (with `throttle`; else the last `retry_after`) after
    its last failure, so that the suite's address starts the next run clean."""
    throttle = throttle_of(info_of(api.client))
    if throttle is not None:
        if throttle.max_failures > MAX_SHOWN_LIMIT:
            not_run(
                f"/api/info shows a limit of {throttle.max_failures} failures; the case tries at "
                f"most {MAX_SHOWN_LIMIT} (a household's limit is about {HOUSEHOLD_LIMIT})"
            )
        conformance.require_wait(2 * throttle.window_s, "LOCK-8 (the throttle window, twice)")
        bound = throttle.max_failures
    else:
        bound = UNSHOWN_BOUND
    judged, refused, clean_after, asked = 0, None, 0.0, 0.0
    sent: list[float] = []  # when each judged failure was answered (local monotonic seconds)
    try:
        for _ in range(bound + 1):
            asked = conformance.now
            response = judged_login(api.client, fresh_name("throttle"))
            sent.append(time.monotonic())
            if response.status_code == 429:
                refused = response
                break
            require(
                response.status_code == 401,
                (f"a wrong password for a fresh name answered {describe(response)}"),
            )
            judged += 1
        if refused is None and throttle is not None:
            densest = _densest(sent, throttle.window_s - 1)
            if densest <= throttle.max_failures:
                not_run(
                    f"{judged} failures took {sent[-1] - sent[0]:.1f} s: at most {densest} fell "
                    f"within one {throttle.window_s} s window, so the limit of "
                    f"{throttle.max_failures} was never reached (the target answers too slowly "
                    "for this check)"
                )
        if refused is None:
            shown = f"/api/info shows max_failures {bound}" if throttle else "/api/info shows none"
            raise AssertionError(
                f"{judged} wrong passwords for {judged} fresh names from one address were all "
                f"judged 401 ({shown}): no per-address throttle"
            )
        retry = conformance.retry_of(refused)  # the answer's form is LOCK-2's
        clean_after = retry
        notes.append(f"{judged} failures judged from this address, then 429 (retry_after {retry})")
        if throttle is None:
            notes.append("the address was throttled, but /api/info shows no `throttle` limit")
            return
        clean_after = throttle.window_s
        require(
            retry <= throttle.window_s,
            (f"retry_after {retry} is longer than the throttle window {throttle.window_s} s"),
        )
        ends = Ends.of_refusal(asked, conformance.now, retry, conformance.clock.uncertainty)
        ends, retry = _throttled_verify(api, conformance, throttle, ends, retry, notes)
        _other_address_is_judged(api, conformance, notes)
        conformance.wait(ends.left(conformance.now))
        again = judged_login(api.client, fresh_name("throttle"))
        require(
            again.status_code == 401,
            (f"{retry} s (retry_after) later, a fresh name is still refused: {describe(again)}"),
        )
    finally:
        if clean_after:
            conformance.wait(clean_after)
            notes.append(f"waited {clean_after:.0f} s afterwards, so the address starts clean")


def _throttled_verify(
    api, conformance, throttle, ends: Ends, retry: int, notes
) -> tuple[Ends, int]:
    """A verify from the throttled address must get 429 while the window lasts. One answered
    otherwise after the window could have ended is no evidence: the address is throttled again
    (fresh names until a 429) and the verify sent again, a bounded number of times, else the
    case is not run. Returns when the latest throttle ends, and its retry_after."""
    retries = [retry]
    for _ in range(THROTTLED_VERIFY_TRIES):
        verify = api.client.post(
            "/api/auth/verify",
            json={"challenge_token": secrets.token_urlsafe(32), "totp_code": "000000"},
        )
        if verify.status_code == 429:
            conformance.retry_of(verify)
            if len(retries) > 1:
                notes.append(
                    f"the verify was sent {len(retries)} times: before, the window could have "
                    f"ended (retry_after {', '.join(map(str, retries[:-1]))} s)"
                )
            return ends, retry
        require(
            not ends.in_force_when_answered(conformance.now),
            f"a throttled address may still verify: {describe(verify)} (expected 429)",
        )
        for _ in range(throttle.max_failures + 1):  # the window moved: fill it again
            asked = conformance.now
            refused = judged_login(api.client, fresh_name("throttle"))
            if refused.status_code == 429:
                break
            require(
                refused.status_code == 401,
                f"a wrong password for a fresh name answered {describe(refused)}",
            )
        else:
            not_run(
                f"after the throttle window ended, {throttle.max_failures + 1} more failures "
                "from this address were all judged (the target answers too slowly to fill it)"
            )
        retry = conformance.retry_of(refused)
        retries.append(retry)
        ends = Ends.of_refusal(asked, conformance.now, retry, conformance.clock.uncertainty)
    not_run(
        f"the throttle's 429s said retry_after {', '.join(map(str, retries))} s, and each verify "
        "after them was answered when the window could have ended (the target answers too "
        "slowly for this check)"
    )


def _densest(times: list[float], window_s: float) -> int:
    """The most of `times` (sorted) that one span of `window_s` seconds holds."""
    spans = (bisect.bisect_left(times, t + window_s) - i for i, t in enumerate(times))
    return max(spans, default=0)


def _other_address_is_judged(api, conformance, notes) -> None:
    other = other_address(conformance.target.base_url)
    if other is None:
        notes.append("not checked: that another address is still judged (target not on loopback)")
        return
    with client(
        conformance.target.base_url,
        conformance.verify,
        other,
        api.recorder.hooks(own_address=False),
    ) as http:
        response = judged_login(http, fresh_name("throttle"))
    require(
        response.status_code == 401,
        (
            f"while this address is throttled, a fresh name from {other} answered "
            f"{describe(response)}: the throttle is not per address"
        ),
    )
