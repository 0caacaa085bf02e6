"""The store: persistence, pruning of stale throttle rows, and one transaction per decision
across connections (two Store objects on one file behave like two server processes)."""

from __future__ import annotations

import os
import stat
import threading

from reference_server.auth import Locked, Refused
from reference_server.core.clock import FakeClock
from reference_server.core.lockout import ThrottleState
from reference_server.embedded import EmbeddedServer
from reference_server.store import Store
from reference_server.store.sqlite import STALE_AFTER_S

from .conftest import FAST_PASSWORDS


def test_LOGIN_3_stale_unknown_name_rows_pruned_but_not_locks(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    now = 1_000_000.0
    with store.transaction() as tx:
        tx.put_throttle("stale", ThrottleState(failures=2), now - STALE_AFTER_S - 1)
        tx.put_throttle("fresh", ThrottleState(failures=2), now - 10)
        tx.put_throttle("locked", ThrottleState(0, now + 100, 1), now - STALE_AFTER_S - 1)
        tx.prune(now, 120, 3600)
    with store.transaction() as tx:
        assert tx.throttle("stale") == ThrottleState()
        assert tx.throttle("fresh").failures == 2
        assert tx.throttle("locked").locked_until == now + 100


def test_LOCK_5_two_connections_on_one_file_never_judge_more_than_five(tmp_path):
    db = str(tmp_path / "shared.db")
    clock = FakeClock(2_000_000_000)
    first = EmbeddedServer(
        profile="production", accounts=1, db_path=db, clock=clock, passwords=FAST_PASSWORDS
    )
    second = EmbeddedServer(
        profile="production", accounts=0, db_path=db, clock=clock, passwords=FAST_PASSWORDS
    )
    name = first.accounts[0].username
    results: list[object] = []
    lock = threading.Lock()

    def attempt(server: EmbeddedServer) -> None:
        result = server.auth.login(name, "wrong", "127.0.0.1")
        with lock:
            results.append(result)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in (first, second) * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Refused) for r in results) == 5
    assert sum(isinstance(r, Locked) for r in results) == 11
    first.close()
    second.close()


def test_LOCK_6_state_persists_in_the_file(tmp_path):
    db = str(tmp_path / "p.db")
    store = Store(db)
    with store.transaction() as tx:
        tx.put_throttle("alice", ThrottleState(3, 0.0, 2), 5.0)
    store.close()
    again = Store(db)
    with again.transaction() as tx:
        assert tx.throttle("alice") == ThrottleState(3, 0.0, 2)
    again.close()


def test_failed_decision_rolls_back(tmp_path):
    store = Store(str(tmp_path / "r.db"))
    try:
        with store.transaction() as tx:
            tx.put_throttle("bob", ThrottleState(4), 1.0)
            raise RuntimeError("crash mid-decision")
    except RuntimeError:
        pass
    with store.transaction() as tx:
        assert tx.throttle("bob") == ThrottleState()


def _mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(os.stat(path).st_mode)


def test_STORE_1_database_wal_and_shm_are_created_0600(tmp_path):
    old = os.umask(0o022)  # the usual umask: files would be 0644 unless created 0600
    try:
        db = tmp_path / "s.db"
        store = Store(str(db))
        with store.transaction() as tx:
            tx.put_throttle("alice", ThrottleState(1), 1.0)
        files = [db, tmp_path / "s.db-wal", tmp_path / "s.db-shm"]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        store.close()
    finally:
        os.umask(old)


def test_STORE_1_an_older_looser_database_is_tightened(tmp_path):
    db = tmp_path / "old.db"
    Store(str(db)).close()
    os.chmod(db, 0o644)
    Store(str(db)).close()
    assert _mode(db) == 0o600


def test_STORE_1_target_profile_and_tls_key_are_0600(tmp_path):
    from reference_server.cli import write_atomically
    from reference_server.tls import make_self_signed

    old = os.umask(0o022)
    try:
        profile = tmp_path / "target.toml"
        write_atomically(str(profile), b"secret = 1\n")
        assert _mode(profile) == 0o600
        (tmp_path / "key.pem").write_bytes(b"")
        os.chmod(tmp_path / "key.pem", 0o644)
        _, key = make_self_signed(str(tmp_path))
        assert _mode(key) == 0o600
    finally:
        os.umask(old)
