"""Accounts on flash (tfa.users): what is written reads back, unknown names are None, and
Auth works the same over the file as over a list of Users."""

import json
import os

import fakes
from fakes import remove, scratch
from tfa import config, totp
from tfa.users import UserFile, parse, record


def _fresh():
    return scratch("users")


def _done(root):
    remove(root)


def test_a_record_reads_back_as_the_same_user():
    u = fakes.user("bob")
    back = parse("bob", record(u))
    assert (back.username, back.password, back.secret, back.backups) == (
        "bob",
        u.password,
        u.secret,
        u.backups,
    )


def test_the_file_indexes_names_and_reads_each_account():
    root = _fresh()
    users = UserFile(root + "users.bin")
    a, b = fakes.user("alice"), fakes.user("bob", backups=())
    users.write([a, b])
    assert "alice" in users and "bob" in users and "carol" not in users
    assert len(users) == 2
    got = users.get("bob")
    assert got.username == "bob" and got.password == b.password and bytes(got.backups) == b""
    assert bytes(users.get("alice").backups) == a.backups
    assert len(users._buf) == 2 + len(record(a))  # the longest record, made once
    assert users.get("carol") is None
    assert users.iterations == fakes.ITER
    assert sorted(os.listdir(root)) == ["users.bin"]
    _done(root)


def test_a_failed_write_keeps_the_old_file():
    root = _fresh()
    users = UserFile(root + "users.bin")
    users.write([fakes.user("alice")])

    def bad():
        yield fakes.user("bob")
        raise ValueError("bad account")

    try:
        users.write(bad())
        raise AssertionError("the error was swallowed")
    except ValueError:
        pass
    assert sorted(os.listdir(root)) == ["users.bin"]
    assert "alice" in users and users.get("alice") is not None
    _done(root)


def test_a_backup_code_verifies_over_the_file():
    root = _fresh()
    users = UserFile(root + "users.bin")
    users.write([fakes.user("alice"), fakes.user("bob")])
    auth, clock, _ = fakes.make(users=users)
    outcome, tok = auth.login("alice", "correct horse")
    assert auth.verify(tok, backup="fghij-67890")[0] == "success"
    outcome, tok = auth.login("alice", "correct horse")
    assert auth.verify(tok, backup="fghij67890")[0] == "invalid_code"  # spent
    _done(root)


def test_auth_over_the_file_logs_in_and_verifies():
    root = _fresh()
    users = UserFile(root + "users.bin")
    users.write([fakes.user("alice")])
    auth, clock, _ = fakes.make(users=users)
    outcome, tok = auth.login("alice", "correct horse")
    assert outcome == "challenge_issued"
    code = totp.totp(fakes.SECRET, clock.now())
    assert auth.verify(tok, code)[0] == "success"
    assert auth.login("nobody", "x") == ("invalid_credentials", None)
    assert auth.login("alice", "wrong") == ("invalid_credentials", None)
    _done(root)


def test_config_writes_the_accounts_file_from_users_json():
    root = _fresh()
    u = {
        "username": "alice",
        "password_hash": fakes.entry("pw"),
        "totp_secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "backup_codes": [fakes.entry("abcde12345")],
    }
    with open(root + "users.json", "w") as f:
        f.write(json.dumps({"users": [u]}))
    users = config.load_users(root)
    assert "alice" in users
    assert users.get("alice").secret == fakes.SECRET
    with open(root + "users.json", "w") as f:
        f.write(json.dumps({"users": [u, {"username": "bob"}]}))
    try:
        config.load_users(root)
        raise AssertionError("a bad account was accepted")
    except config.ConfigError as e:
        assert "user 1" in str(e)
    assert sorted(os.listdir(root)) == ["users.bin", "users.json"]
    _done(root)
