"""The three reports of a run: JUnit XML for CI, JSON for machines, one HTML page for people."""

from __future__ import annotations

import html
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.results import (
    FAILED,
    NOT_RUN,
    PASSED,
    WARNING,
    CaseResult,
    RequirementVerdict,
    RunResult,
)

JUNIT_NAME = "conformance-junit.xml"
JSON_NAME = "conformance.json"
HTML_NAME = "conformance.html"


def write_reports(result: RunResult, directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "junit": directory / JUNIT_NAME,
        "json": directory / JSON_NAME,
        "html": directory / HTML_NAME,
    }
    paths["junit"].write_text(junit_xml(result), encoding="utf-8")
    paths["json"].write_text(json.dumps(json_report(result), indent=2), encoding="utf-8")
    paths["html"].write_text(html_report(result), encoding="utf-8")
    return paths


def case_title(case: CaseResult) -> str:
    return f"{case.req_id} {case.name}"


def junit_xml(result: RunResult) -> str:
    cases = result.cases
    suite = ET.Element(
        "testsuite",
        name=f"conformance: {result.target_name}",
        tests=str(len(cases)),
        failures=str(sum(c.verdict == FAILED for c in cases)),
        skipped=str(sum(c.verdict == NOT_RUN for c in cases)),
        errors="0",
        time=f"{result.duration:.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(result.started)),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("base_url", result.base_url), ("profile", result.profile)):
        ET.SubElement(props, "property", name=name, value=value)
    for case in cases:
        section = case.req_id.split("-")[0].lower()
        element = ET.SubElement(
            suite,
            "testcase",
            classname=f"conformance.{section}",
            name=case_title(case),
            time=f"{case.duration:.3f}",
        )
        case_props = ET.SubElement(element, "properties")
        for name, value in (
            ("requirement", case.req_id),
            ("level", case.level),
            ("verdict", case.verdict),
        ):
            ET.SubElement(case_props, "property", name=name, value=value)
        if case.verdict == FAILED:
            failure = ET.SubElement(element, "failure", message=case.message.splitlines()[0][:500])
            failure.text = case.message
        elif case.verdict == NOT_RUN:
            ET.SubElement(element, "skipped", message=case.message[:500])
        elif case.verdict == WARNING:
            out = ET.SubElement(element, "system-out")
            out.text = f"WARNING (SHOULD not met): {case.message}"
        if case.notes:
            err = ET.SubElement(element, "system-err")
            err.text = "\n".join(case.notes)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode")


def json_report(result: RunResult) -> dict[str, Any]:
    requirements = {}
    for req_id, verdict in result.verdicts().items():
        requirements[req_id] = {
            "level": verdict.requirement.level,
            "section": verdict.requirement.section,
            "verdict": verdict.verdict,
            "duration_s": round(verdict.duration, 3),
            "reason": verdict.reason,
            "cases": [
                c.to_dict(with_exchanges=c.verdict in (FAILED, WARNING)) for c in verdict.cases
            ],
        }
    return {
        "suite": "pico-tfa conformance",
        "target": {
            "name": result.target_name,
            "base_url": result.base_url,
            "profile": result.profile,
        },
        "started": result.started,
        "duration_s": round(result.duration, 3),
        "exit_status": result.exit_status,
        "judged": result.judged,
        "not_judged_reason": result.not_judged,
        "setup_error": result.setup_error,
        "summary": result.counts(),
        "requirements": requirements,
    }


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:80em}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}.passed{background:#d9f2d9}.failed{background:#f8d0d0}
.warning{background:#fff1c2}.not-run{background:#e4e4e4}
td.text{font-size:.9em;max-width:40em}
pre{background:#f7f7f7;padding:.6em;white-space:pre-wrap;word-break:break-all;font-size:.85em}
details{margin:.3em 0}h2{margin-top:2em}.exchange{border-left:3px solid #999;padding-left:.8em}
section{border-top:1px solid #ccc;margin-top:1.5em}section>h3{padding:.2em .4em}
.case{margin-left:1em}.setup{background:#f8d0d0;padding:.6em;font-weight:bold}
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def anchor(req_id: str) -> str:
    """The id of a requirement's section: its ID, as the summary table links to it."""
    return req_id


def html_report(result: RunResult) -> str:
    """The whole run on one page: a summary row per requirement (with its text and a link to its
    section), then every requirement with each case, its message, notes and exchanges."""
    verdicts = result.verdicts()
    counts = result.counts()
    status = "PASSED" if result.exit_status == 0 else "FAILED"
    if not result.judged:
        status = "NOT JUDGED"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Conformance: {_e(result.target_name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Conformance of {_e(result.target_name)}: {status}</h1>",
    ]
    if not result.judged:
        parts.append(f"<p class='not-run'><b>not judged: {_e(result.not_judged)}</b></p>")
    if result.setup_error:
        parts.append(f"<p class='setup'>Set-up error: {_e(result.setup_error)}</p>")
    parts += [
        f"<p>Target <code>{_e(result.base_url)}</code>, profile <b>{_e(result.profile)}</b>; "
        f"run at {_e(time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(result.started)))} "
        f"in {result.duration:.1f} s. ",
        ", ".join(f"{n} {_e(k)}" for k, n in counts.items()) + ".</p>",
        "<table><tr><th>Requirement</th><th>Level</th><th>Verdict</th><th>Time</th>"
        "<th>Text</th><th>Why</th></tr>",
    ]
    for req_id, v in verdicts.items():
        why = _e(v.reason.splitlines()[0][:200]) if v.reason else ""
        parts.append(
            f"<tr class='{v.verdict}'><td><a href='#{_e(anchor(req_id))}'>{_e(req_id)}</a></td>"
            f"<td>{_e(v.requirement.level)}</td><td>{_e(v.verdict)}</td>"
            f"<td>{v.duration:.2f} s</td><td class='text'>{_e(v.requirement.text)}</td>"
            f"<td>{why}</td></tr>"
        )
    parts.append("</table><h2>Requirements</h2>")
    for v in verdicts.values():
        parts.append(_requirement_html(v))
    parts.append("</body></html>")
    return "\n".join(parts)


def _requirement_html(v: RequirementVerdict) -> str:
    req = v.requirement
    out = [
        f"<section id='{_e(anchor(req.id))}'>",
        f"<h3 class='{v.verdict}'>{_e(req.id)} {_e(req.level)}: {_e(v.verdict)}"
        + (f" <small>({_e(req.section)})</small>" if req.section else "")
        + "</h3>",
        f"<p><i>{_e(req.text or '(no text in the spec)')}</i></p>",
    ]
    if v.reason and v.verdict != PASSED:
        out.append(f"<p>Why: {_e(v.reason.splitlines()[0][:300])}</p>")
    for case in v.cases:
        out.append(_case_html(case))
    out.append("</section>")
    return "\n".join(out)


def _case_html(case: CaseResult) -> str:
    out = [
        "<div class='case'>",
        f"<h4>{_e(case.name)} ({_e(case.verdict)}, {case.duration:.2f} s)</h4>",
        f"<p>{_e(case.rationale)}</p>",
    ]
    if case.verdict != PASSED and case.message:
        out.append(f"<pre>{_e(case.message)}</pre>")
    for note in case.notes:
        out.append(f"<p>Note: {_e(note)}</p>")
    out.append(_exchanges_html(case.exchanges, opened=case.verdict in (FAILED, WARNING)))
    out.append("</div>")
    return "\n".join(out)


def _exchanges_html(exchanges: list[dict[str, Any]], opened: bool) -> str:
    if not exchanges:
        return "<p>No HTTP exchange was recorded.</p>"
    out = [f"<details{' open' if opened else ''}><summary>{len(exchanges)} HTTP exchange(s)"]
    out.append("</summary>")
    for ex in exchanges:
        req_headers = "\n".join(f"{k}: {v}" for k, v in ex.get("request_headers", []))
        resp_headers = "\n".join(f"{k}: {v}" for k, v in ex.get("response_headers", []))
        status = ex.get("status")
        out.append(
            "<div class='exchange'>"
            f"<pre>{_e(ex.get('method'))} {_e(ex.get('url'))}\n{_e(req_headers)}\n\n"
            f"{_e(ex.get('request_body', ''))}</pre>"
            f"<pre>{_e(status if status is not None else '(no status)')} "
            f"{_e(ex.get('error', ''))}\n{_e(resp_headers)}\n\n"
            f"{_e(ex.get('response_body', ''))}</pre>"
            "</div>"
        )
    out.append("</details>")
    return "".join(out)
