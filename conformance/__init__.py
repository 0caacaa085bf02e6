"""The conformance suite: judges any server of the two-factor login protocol.

Run it with `python -m conformance server [--target-profile FILE]`, or as a pytest plugin
(`pytest -p conformance.plugin conformance/cases --target-profile FILE`). Each case is named after
the requirement ID of the spec it checks; reports say which requirements passed, failed, warned
(a failing SHOULD) or were not run, and why.
"""

from conformance.needs import (
    EXHAUSTS_THROTTLE,
    LOCKS_ACCOUNT,
    PICKS_STEPS,
    RUNS_ALONE,
    SEVERAL_ACCOUNTS,
    SPENDS_STEPS,
    WAITS_FOR_EXPIRY,
)
from conformance.requirements import requirement

__all__ = [
    "EXHAUSTS_THROTTLE",
    "LOCKS_ACCOUNT",
    "PICKS_STEPS",
    "RUNS_ALONE",
    "SEVERAL_ACCOUNTS",
    "SPENDS_STEPS",
    "WAITS_FOR_EXPIRY",
    "requirement",
]
