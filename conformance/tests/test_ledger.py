"""The ledger of backup codes this suite has submitted: private, hashed, read across runs; and
SESS-6 judged by it (a profile whose codes earlier runs sent is not run, not failed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conformance.accounts import AccountPool
from conformance.ledger import BackupLedger, ledger_path
from conformance.model import LockPolicy, TargetModel
from conformance.profile import AccountSpec
from conformance.runner import run_suite
from conformance.tests.harness import embedded

URL = "https://127.0.0.1:8443"
SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105 - a test value


def test_the_ledger_lives_in_the_users_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ledger_path() == tmp_path / "xdg" / "pico-tfa" / "conformance" / ledger_path().name
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert ledger_path().is_relative_to(Path.home() / ".cache" / "pico-tfa" / "conformance")


def test_codes_are_kept_hashed_in_a_private_file_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "pico-tfa" / "conformance" / "ledger.json"
    ledger = BackupLedger(URL, path)
    ledger.note("alice", "abcde-fghjk")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert "abcde" not in text and "fghjk" not in text and "alice" not in text
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left
    later = BackupLedger(URL, path)  # the next run
    assert later.submitted("alice", "abcde-fghjk")
    assert not later.submitted("bob", "abcde-fghjk")  # per account
    assert not BackupLedger("https://10.0.0.9", path).submitted("alice", "abcde-fghjk")  # target
    assert not later.submitted("alice", "zzzzz-zzzzz")


def test_runs_side_by_side_keep_each_others_codes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    one, two = BackupLedger(URL, path), BackupLedger(URL, path)
    one.note("alice", "a")
    two.note("alice", "b")
    assert BackupLedger(URL, path).submitted("alice", "a")
    assert BackupLedger(URL, path).submitted("alice", "b")


def test_an_unreadable_ledger_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_text("{not json")
    ledger = BackupLedger(URL, path)
    assert not ledger.submitted("alice", "a")
    ledger.note("alice", "a")
    assert BackupLedger(URL, path).submitted("alice", "a")


def _account(tmp_path: Path, codes: tuple[str, ...], spare_codes: bool):
    ledger = BackupLedger(URL, tmp_path / "ledger.json")
    spec = AccountSpec("alice", "pw", SECRET, codes)
    pool = AccountPool(TargetModel([spec], LockPolicy(300.0), lambda: 1000.0), ledger, spare_codes)
    return pool.accounts[0], ledger


def test_codes_never_submitted_are_tried_first(tmp_path: Path) -> None:
    codes = tuple(f"code-{i}" for i in range(8))
    account, ledger = _account(tmp_path, codes, spare_codes=False)
    for code in codes[:5]:
        ledger.note("alice", code)
    for _ in range(5):
        order = account.backup_codes_to_try()
        assert sorted(order[:3]) == list(codes[5:]) and sorted(order[3:]) == list(codes[:5])
    assert account.fresh_backup_codes() == list(codes[5:])


def test_no_code_is_spared_on_a_movable_clock_nor_out_of_the_reserve(tmp_path: Path) -> None:
    codes = tuple(f"code-{i}" for i in range(8))
    movable, _ = _account(tmp_path / "m", codes, spare_codes=False)
    assert movable.spare_backup_code() is None and movable.spare_backup_codes() == []
    live, ledger = _account(tmp_path / "l", codes, spare_codes=True)
    assert len(live.spare_backup_codes()) == 3  # 8 never sent, 5 kept for SESS-6
    for code in codes[:3]:
        ledger.note("alice", code)
    assert live.spare_backup_code() is None  # only the reserve is left


@pytest.mark.parametrize("earlier_runs_sent_all", [False, True])
def test_sess_6_is_not_run_when_earlier_runs_sent_every_code(earlier_runs_sent_all: bool) -> None:
    with embedded() as target:
        ledger = BackupLedger(target.base_url)
        accounts = target.profile.accounts
        total = sum(len(a.backup_codes) for a in accounts)
        assert total > 0
        if earlier_runs_sent_all:
            for spec in accounts:
                for code in spec.backup_codes:
                    ledger.note(spec.username, code)
        status, result = run_suite(target, only=["SESS-6"], quiet=True)
    assert result is not None
    verdict = result.verdicts()["SESS-6"]
    sent = sum(
        BackupLedger(target.base_url).submitted(a.username, c)
        for a in accounts
        for c in a.backup_codes
    )
    if earlier_runs_sent_all:
        assert verdict.verdict == "not-run", verdict.reason
        assert f"all {total} backup codes of the profile have been used by earlier runs" in (
            verdict.reason
        )
        assert sent == total
    else:
        assert verdict.verdict == "passed", verdict.reason
        assert status == 0
        assert sent == 1  # the one taken (sent twice: again, to see it refused)
    assert os.environ["XDG_CACHE_HOME"] not in str(Path.home() / ".cache")
