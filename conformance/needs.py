"""What a case needs from the run, declared on the case; the run order follows from it alone.

    @requirement("LOCK-3", "a lock ends on time", needs=(WAITS_FOR_EXPIRY, LOCKS_ACCOUNT))

Each account accepts one new TOTP step at a time (TOTP-4) and a step comes round every 30 s, so
the cases that spend steps run while every account is fresh. Those that need particular steps
(T-1 or T-2 unspent) run late, beside the waiting cases: an account brought to a known state at
the start (reconcile.py, which spends a step) is a step or two older by then. Cases that leave
their account locked come last in their group, so that the others need not wait for it. Cases
that mostly wait for a lock, a challenge or a session to end run in threads beside the rest on a
live target (beside.py). A case that runs alone has the target to itself; one that exhausts the
per-address throttle (LOCK-8) runs alone and last, and the run then waits out the throttle's
window so that nothing after it (the next run included) is refused for it.
"""

from __future__ import annotations

from collections.abc import Iterable

SPENDS_STEPS = "spends TOTP steps"
PICKS_STEPS = "needs particular TOTP steps"
SEVERAL_ACCOUNTS = "uses several accounts"
LOCKS_ACCOUNT = "locks its account"
WAITS_FOR_EXPIRY = "waits for an expiry"
RUNS_ALONE = "runs alone"
EXHAUSTS_THROTTLE = "exhausts the address throttle"
NEEDS = frozenset(
    {
        SPENDS_STEPS,
        PICKS_STEPS,
        SEVERAL_ACCOUNTS,
        LOCKS_ACCOUNT,
        WAITS_FOR_EXPIRY,
        RUNS_ALONE,
        EXHAUSTS_THROTTLE,
    }
)

ALONE, STEPS, REST, PICKS, WAITING, LAST = range(6)  # the groups, in run order


def check(needs: Iterable[str]) -> tuple[str, ...]:
    needs = tuple(needs)
    unknown = set(needs) - NEEDS
    if unknown:
        raise ValueError(f"unknown needs {sorted(unknown)}; known: {sorted(NEEDS)}")
    return needs


def order(needs: Iterable[str]) -> tuple[int, int]:
    """(group, rank within it) for a case with these needs."""
    needs = set(needs)
    locks = LOCKS_ACCOUNT in needs
    if EXHAUSTS_THROTTLE in needs:
        return (LAST, 0)
    if RUNS_ALONE in needs:
        return (ALONE, 0 if locks else 1)  # a lock taken first ends while the others run
    if WAITS_FOR_EXPIRY in needs:
        return (WAITING, 0)
    if PICKS_STEPS in needs:
        return (PICKS, 0)
    if needs & {SPENDS_STEPS, SEVERAL_ACCOUNTS}:
        return (STEPS, 1 if locks else 0)
    return (REST, 1 if locks else 0)


def runs_beside(needs: Iterable[str]) -> bool:
    """Whether the case mostly waits, and may run in a thread beside the others."""
    return order(needs)[0] == WAITING


def starts_side_runs(needs: Iterable[str]) -> bool:
    """The waiting cases start once the alone and step-spending ones are done."""
    return order(needs)[0] >= REST
