"""The firmware's error table (a string, for its heap) says what the reference server's does:
the same error codes, each with the same status (spec/DECISIONS.md)."""

from __future__ import annotations

import ast

from pico_firmware.host.tests.conftest import REPO
from reference_server.edge.errors import STATUS


def firmware_table(name: str) -> str:
    tree = ast.parse((REPO / "pico_firmware/src/tfa/http.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"tfa/http.py has no {name}")


def test_error_codes_and_statuses_match_the_reference_server() -> None:
    rows = [line.split(" ", 2) for line in firmware_table("ERRORS").strip().splitlines()]
    assert {code: int(status) for code, status, _ in rows} == STATUS
    assert all(message.strip() for _, _, message in rows)


def test_every_status_has_a_reason_phrase() -> None:
    reasons = {
        int(line.split(" ", 1)[0]) for line in firmware_table("REASONS").strip().splitlines()
    }
    assert set(STATUS.values()) | {200, 204} <= reasons
