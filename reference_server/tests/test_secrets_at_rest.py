# ruff: noqa: S106 - test credentials
"""STORE-2: TOTP secrets are sealed with a key file apart from the database, plain rows of an
older database are sealed when it opens, and the key rotates without losing an account."""

from __future__ import annotations

import os
import sqlite3
import stat

import pyotp
import pytest

from reference_server.cli import main
from reference_server.embedded import EmbeddedServer
from reference_server.store import Store
from reference_server.store.secret_key import SecretKey, SecretKeyError, default_key_path

from .conftest import FAST_PASSWORDS, START


def on_disk(db: str) -> bytes:
    return b"".join(
        open(db + suffix, "rb").read()  # noqa: SIM115
        for suffix in ("", "-wal", "-shm")
        if os.path.exists(db + suffix)
    )


def embedded(db: str, **kwargs) -> EmbeddedServer:  # type: ignore[no-untyped-def]
    kwargs.setdefault("accounts", 0)
    server = EmbeddedServer(profile="production", db_path=db, passwords=FAST_PASSWORDS, **kwargs)
    server.clock.set(START)
    return server


def logs_in_with_totp(server: EmbeddedServer, username: str, password: str, secret: str) -> bool:
    ok = server.auth.login(username, password, "127.0.0.1")
    code = pyotp.TOTP(secret).at(server.clock.now())
    done = server.auth.verify(ok.challenge_token, totp_code=code, source="127.0.0.1")  # type: ignore[union-attr]
    return type(done).__name__ == "SessionIssued"


def test_STORE_2_no_base32_secret_on_disk_and_a_0600_key_beside(tmp_path):
    db = str(tmp_path / "server.db")
    server = embedded(db, accounts=3)
    secrets = [a.totp_secret for a in server.accounts]
    disk = on_disk(db)
    for secret in secrets:
        assert secret.encode() not in disk
    assert stat.S_IMODE(os.stat(default_key_path(db)).st_mode) == 0o600
    account = server.accounts[0]
    assert logs_in_with_totp(server, account.username, account.password, account.totp_secret)
    server.close()


def test_STORE_2_a_sealed_secret_does_not_open_for_another_account(tmp_path):
    key = SecretKey.create(str(tmp_path / "k"))
    sealed = key.seal("alice", "JBSWY3DPEHPK3PXP")
    assert key.open("alice", sealed) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretKeyError):
        key.open("mallory", sealed)
    with pytest.raises(SecretKeyError):
        SecretKey.create(str(tmp_path / "k"))  # never overwrites a key


def test_STORE_2_plain_rows_of_an_older_database_are_sealed_at_open(tmp_path):
    db = str(tmp_path / "old.db")
    first = embedded(db, accounts=2)
    accounts = first.accounts
    first.close()
    conn = sqlite3.connect(db)  # as an older version left it: plain base32
    for a in accounts:
        conn.execute(
            "UPDATE accounts SET totp_secret=? WHERE username=?", (a.totp_secret, a.username)
        )
    conn.commit()
    conn.close()
    assert accounts[0].totp_secret.encode() in on_disk(db)

    again = embedded(db)
    for a in accounts:
        assert logs_in_with_totp(again, a.username, a.password, a.totp_secret)
    again.close()
    disk = on_disk(db)
    for a in accounts:
        assert a.totp_secret.encode() not in disk


def test_STORE_2_rotate_then_log_in_with_totp(tmp_path, capsys):
    db = str(tmp_path / "server.db")
    first = embedded(db, accounts=3)
    accounts = first.accounts
    first.close()
    old_key, new_key = default_key_path(db), str(tmp_path / "keys" / "new.key")
    before = open(db, "rb").read()  # noqa: SIM115

    assert main(["rotate-secret-key", "--db", db, "--new-key-file", new_key]) == 0
    assert "3 TOTP secrets resealed" in capsys.readouterr().out
    assert stat.S_IMODE(os.stat(new_key).st_mode) == 0o600
    assert open(db, "rb").read() != before  # noqa: SIM115

    with pytest.raises(SecretKeyError):
        Store(db, SecretKey.load(old_key))  # the old key opens nothing any more
    rotated = embedded(db, secret_key_file=new_key)
    for a in accounts:
        assert logs_in_with_totp(rotated, a.username, a.password, a.totp_secret)
    rotated.close()


def test_STORE_2_rotation_with_a_wrong_key_changes_nothing(tmp_path, capsys):
    db = str(tmp_path / "server.db")
    first = embedded(db, accounts=1)
    account = first.accounts[0]
    first.close()
    wrong = str(tmp_path / "wrong.key")
    SecretKey.create(wrong)
    args = ["rotate-secret-key", "--db", db, "--secret-key-file", wrong, "--new-key-file"]
    assert main([*args, str(tmp_path / "n.key")]) == 2
    assert "does not open" in capsys.readouterr().err
    again = embedded(db)
    assert logs_in_with_totp(again, account.username, account.password, account.totp_secret)
    again.close()


def test_STORE_2_serve_refuses_a_key_that_does_not_open_the_database(tmp_path, capsys):
    db = str(tmp_path / "server.db")
    embedded(db, accounts=1).close()
    other = str(tmp_path / "other.key")
    SecretKey.create(other)
    code = main(["serve", "--db", db, "--secret-key-file", other, "--port", "0"])
    assert code == 2
    assert "does not open" in capsys.readouterr().err


def test_STORE_2_a_missing_key_is_an_error_never_a_new_key(tmp_path, capsys):
    db = str(tmp_path / "server.db")
    embedded(db, accounts=1).close()
    os.rename(default_key_path(db), str(tmp_path / "kept-elsewhere.key"))
    assert main(["list-users", "--db", db]) == 2
    assert "no key file" in capsys.readouterr().err
    assert not os.path.exists(default_key_path(db)), "a new key was made for sealed secrets"
    assert (
        main(["list-users", "--db", db, "--secret-key-file", str(tmp_path / "kept-elsewhere.key")])
        == 0
    )
