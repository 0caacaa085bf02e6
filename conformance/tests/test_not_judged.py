"""A target the suite cannot reach, or a profile it cannot use, is "not judged" (exit status 3):
no verdicts, and the reports say why in one line at the top."""

from __future__ import annotations

import json
import socket

from conformance.cli import main
from conformance.profile import profile_from_dict
from conformance.results import NOT_JUDGED_STATUS
from conformance.runner import run_suite
from conformance.session import Target

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test TOTP secret


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def _profile(base_url: str) -> dict:
    accounts = [{"username": f"u{i}", "password": "p", "totp_secret": SECRET} for i in range(4)]
    return {"base_url": base_url, "accounts": accounts}


def test_connection_refused_is_not_judged(tmp_path):
    target = Target(profile=profile_from_dict(_profile(f"http://127.0.0.1:{_closed_port()}")))
    status, result = run_suite(target, report_dir=str(tmp_path))
    assert status == NOT_JUDGED_STATUS == 3
    assert result is not None and not result.judged
    assert "cannot connect" in result.not_judged
    assert result.verdicts() == {}
    report = json.loads((tmp_path / "conformance.json").read_text())
    assert report["judged"] is False and report["exit_status"] == 3
    assert report["requirements"] == {}
    assert report["not_judged_reason"].startswith("cannot connect")
    html = (tmp_path / "conformance.html").read_text()
    assert "not judged: cannot connect" in html


def test_an_unusable_profile_is_not_judged(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('base_url = "x"\n')
    status = main(["server", "--target-profile", str(bad), "--report-dir", str(tmp_path)])
    assert status == 3
    report = json.loads((tmp_path / "conformance.json").read_text())
    assert report["judged"] is False and "base_url" in report["not_judged_reason"]
    assert "\n" not in report["not_judged_reason"]


def test_the_exit_statuses_are_in_the_help(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for line in ("0  the target conforms", "1  the target does not conform", "2  usage", "3  not"):
        assert line in out
