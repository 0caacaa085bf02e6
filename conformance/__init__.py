"""The conformance suite: judges any server of the two-factor login protocol.

Run it with `python -m conformance server [--target-profile FILE]`, or as a pytest plugin
(`pytest -p conformance.plugin conformance/cases --target-profile FILE`). Each case is named after
the requirement ID of the spec it checks; reports say which requirements passed, failed, warned
(a failing SHOULD) or were not run, and why.
"""

from conformance.requirements import requirement, runs_alone, runs_beside

__all__ = ["requirement", "runs_alone", "runs_beside"]
