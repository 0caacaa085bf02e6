"""Case outcomes and the verdict per requirement that the reports and the exit status come from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.requirements import Requirement, sort_ids

PASSED, FAILED, WARNING, NOT_RUN = "passed", "failed", "warning", "not-run"
#: A case that finds another requirement's rule broken records `(BROKEN_RULE, (req_id, text))`
#: with pytest's `record_property`; the finding is then that requirement's failure, not the case's.
BROKEN_RULE = "broken_rule"
CONFORMS_STATUS, FAILS_STATUS, USAGE_STATUS, NOT_JUDGED_STATUS = 0, 1, 2, 3


@dataclass
class CaseResult:
    nodeid: str
    name: str
    req_id: str
    level: str
    rationale: str
    outcome: str = PASSED  # passed | failed | not-run
    duration: float = 0.0
    message: str = ""
    notes: list[str] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per category (timing.py)

    @property
    def verdict(self) -> str:
        if self.outcome == FAILED and self.level == "SHOULD":
            return WARNING
        return self.outcome

    def to_dict(self, with_exchanges: bool = False) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        if not with_exchanges:
            data.pop("exchanges")
        return data


def broken_rule_cases(
    finder: CaseResult, properties: list[tuple[str, Any]], requirements: dict[str, Requirement]
) -> list[CaseResult]:
    """One failed case per requirement that `finder` found broken, carrying what showed it."""
    found: dict[str, list[str]] = {}
    for name, value in properties:
        if name == BROKEN_RULE:
            req_id, text = value
            found.setdefault(str(req_id), []).append(str(text))
    cases = []
    for req_id, texts in found.items():
        req = requirements.get(req_id)
        cases.append(
            CaseResult(
                nodeid=f"{finder.nodeid}[{req_id}]",
                name=f"{finder.name} (for {req_id})",
                req_id=req_id,
                level=req.level if req else "MUST",
                rationale=f"found by {finder.name}, reported under the rule it breaks",
                outcome=FAILED,
                message="\n\n".join(texts),
                exchanges=list(finder.exchanges),
            )
        )
    return cases


@dataclass
class RequirementVerdict:
    requirement: Requirement
    verdict: str
    duration: float
    cases: list[CaseResult]
    reason: str = ""


@dataclass
class RunResult:
    target_name: str
    base_url: str
    profile: str
    started: float
    duration: float
    cases: list[CaseResult]
    requirements: dict[str, Requirement]
    selected: set[str] | None = None
    setup_error: str = ""
    not_judged: str = ""  # why the target could not be judged at all (then no verdicts)

    @property
    def judged(self) -> bool:
        return not self.not_judged

    def verdicts(self) -> dict[str, RequirementVerdict]:
        if self.not_judged:
            return {}
        judged = {i for i, r in self.requirements.items() if r.black_box}
        ids = judged if self.selected is None else set(self.selected) & judged
        ids |= {c.req_id for c in self.cases}
        out: dict[str, RequirementVerdict] = {}
        for req_id in sort_ids(ids):
            req = self.requirements.get(req_id) or Requirement(
                req_id, _level_of(req_id, self.cases)
            )
            cases = [c for c in self.cases if c.req_id == req_id]
            out[req_id] = _verdict(req, cases)
        return out

    @property
    def exit_status(self) -> int:
        """0 only when every MUST that should run ran and passed; 3 when nothing was judged
        (the target was unreachable or its profile unusable), 1 otherwise."""
        if self.not_judged:
            return NOT_JUDGED_STATUS
        if self.setup_error:
            return 1
        for verdict in self.verdicts().values():
            if verdict.requirement.level == "MUST" and verdict.verdict != PASSED:
                return 1
        return 0

    def counts(self) -> dict[str, int]:
        counts = {PASSED: 0, FAILED: 0, WARNING: 0, NOT_RUN: 0}
        for verdict in self.verdicts().values():
            counts[verdict.verdict] += 1
        return counts


def _level_of(req_id: str, cases: list[CaseResult]) -> str:
    for case in cases:
        if case.req_id == req_id:
            return case.level
    return "MUST"


def _verdict(req: Requirement, cases: list[CaseResult]) -> RequirementVerdict:
    duration = sum(c.duration for c in cases)
    if not cases:
        return RequirementVerdict(req, NOT_RUN, 0.0, [], "no case checks this requirement")
    failed = [c for c in cases if c.outcome == FAILED]
    if failed:
        verdict = WARNING if req.level == "SHOULD" else FAILED
        return RequirementVerdict(req, verdict, duration, cases, failed[0].message)
    not_run = [c for c in cases if c.outcome == NOT_RUN]
    if not_run:
        return RequirementVerdict(req, NOT_RUN, duration, cases, not_run[0].message)
    return RequirementVerdict(req, PASSED, duration, cases)
