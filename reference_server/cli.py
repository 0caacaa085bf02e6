"""Command line: serve, and the account administration around one SQLite database.

argparse keeps the exact flag spellings other tools rely on (the target profile of
spec/DECISIONS.md, nox, conformance/harness/reference.py).
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import logging
import os
import shlex
import signal
import sys
import tempfile
import urllib.parse
from pathlib import Path

import segno
import tomli_w

from reference_server.assembly import (
    Durations,
    ProfileError,
    build_authenticator,
    create_test_accounts,
    durations_for,
    target_profile,
)
from reference_server.audit import Audit
from reference_server.auth import Authenticator
from reference_server.core.clock import SystemClock
from reference_server.edge.app import build_app
from reference_server.edge.server import bind, make_server, serve
from reference_server.store import Store

DEFAULT_DB = "reference_server.db"
ISSUER = "pico-tfa"


class UsageError(Exception):
    """A refused command line: message on stderr, exit 2."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m reference_server", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve the protocol over HTTP(S)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    s.add_argument("--db", default=DEFAULT_DB, help="SQLite file, or :memory:")
    s.add_argument("--tls-cert")
    s.add_argument("--tls-key")
    s.add_argument("--profile", choices=["production", "test"], default="production")
    s.add_argument("--lockout-seconds", type=int)
    s.add_argument("--session-ttl", type=int)
    s.add_argument("--challenge-ttl", type=int)
    s.add_argument("--test-accounts", type=int, metavar="N")
    s.add_argument("--write-target-profile", metavar="PATH")
    s.add_argument("--insecure-http", action="store_true", help="allow plain HTTP off loopback")
    s.add_argument("--audit-log", metavar="PATH", help="JSON lines (default: stderr)")

    a = sub.add_parser("add-user", help="create an account and show its TOTP QR code")
    a.add_argument("name")
    a.add_argument("--db", default=DEFAULT_DB)
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    for name, help_text in (
        ("list-users", "list accounts and their lock state"),
        ("remove-user", "delete an account"),
        ("reset-lockout", "clear an account's failures and lock"),
    ):
        c = sub.add_parser(name, help=help_text)
        if name != "list-users":
            c.add_argument("name")
        c.add_argument("--db", default=DEFAULT_DB)
    return p


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def write_atomically(path: str, data: bytes) -> None:
    """Temp file then rename: a watcher never reads half a profile."""
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".profile-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)  # it holds passwords and secrets
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_serve(args: argparse.Namespace) -> int:
    durations = durations_for(
        args.profile, args.lockout_seconds, args.session_ttl, args.challenge_ttl
    )
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    if args.test_accounts is not None:
        if args.profile != "test":
            raise UsageError("--test-accounts needs --profile test")
        if not args.write_target_profile:
            raise UsageError("--test-accounts needs --write-target-profile PATH")
        if args.test_accounts < 1:
            raise UsageError("--test-accounts must be at least 1")
    elif args.write_target_profile:
        raise UsageError("--write-target-profile needs --test-accounts N")
    tls = bool(args.tls_cert)
    if not tls and not is_loopback(args.host) and not args.insecure_http:
        raise UsageError(
            f"refusing plain HTTP on {args.host}: give --tls-cert/--tls-key, or --insecure-http "
            "to choose plain HTTP explicitly"
        )
    if tls:
        for path in (args.tls_cert, args.tls_key):
            if not Path(path).is_file():
                raise UsageError(f"no such file: {path}")

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    host = f"[{args.host}]" if ":" in args.host else args.host
    marker = restart_marker(args.write_target_profile) if args.test_accounts else None
    port: int | None = args.port
    generation = 0
    try:
        while port is not None:
            port = _serve_once(args, port, host, tls, durations, generation, marker)
            generation += 1
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)
    return 0


def restart_marker(target_profile: str) -> Path:
    """The file `serve` rewrites each time it accepts connections (reference_server.restart),
    beside the target profile that names it (a server killed by a signal leaves it there)."""
    marker = Path(target_profile).with_name(Path(target_profile).name + ".generation")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("")
    return marker


def _serve_once(
    args: argparse.Namespace,
    port: int,
    host: str,
    tls: bool,
    durations: Durations,
    generation: int,
    marker: Path | None,
) -> int | None:
    """One life of the server, built from the database alone; its port if asked to restart."""
    clock = SystemClock()
    sock = bind(args.host, port)
    store = Store(args.db)
    audit = Audit(clock, args.audit_log)
    try:
        auth = build_authenticator(
            profile=args.profile, durations=durations, store=store, clock=clock, audit=audit
        )
        port = sock.getsockname()[1]
        base_url = f"{'https' if tls else 'http'}://{host}:{port}"
        if marker is not None and generation == 0:
            write_test_profile(args, auth, base_url, tls, marker)
        auth.calibrate()
        if not tls:
            where = (
                "loopback only" if is_loopback(args.host) else "explicitly chosen (--insecure-http)"
            )
            print(f"serving plain HTTP without TLS ({where})", file=sys.stderr)
        print(f"listening on {base_url} (profile {args.profile}, db {args.db})", flush=True)
        server = make_server(
            build_app(auth, clock),
            clock=clock,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        )
        asked: list[bool] = []

        def on_hup(signum: int, frame: object) -> None:
            asked.append(True)
            server.should_exit = True

        previous = signal.signal(signal.SIGHUP, on_hup)
        if marker is not None:
            marker.write_text(f"{os.getpid()} {generation}\n")
        try:
            serve(server, sock)
        finally:
            signal.signal(signal.SIGHUP, previous)
    finally:
        sock.close()
        store.close()
        audit.close()
    if asked:
        print("restarting: state reopened from the database", file=sys.stderr)
        return port
    return None


def write_test_profile(
    args: argparse.Namespace, auth: Authenticator, base_url: str, tls: bool, marker: Path
) -> None:
    """Fresh conformance accounts and their target profile, with a restart_command (LOCK-6)."""
    accounts = create_test_accounts(auth, args.test_accounts)
    profile = target_profile(
        base_url,
        accounts,
        ca_cert=str(Path(args.tls_cert).resolve()) if tls else None,
        name=f"reference server ({args.profile} profile)",
    )
    profile["restart_command"] = shlex.join(
        [sys.executable, "-m", "reference_server.restart", str(os.getpid()), str(marker)]
    )
    write_atomically(args.write_target_profile, tomli_w.dumps(profile).encode())
    print(f"target profile written to {args.write_target_profile}", file=sys.stderr)


def admin(db: str) -> Authenticator:
    clock = SystemClock()
    return build_authenticator(
        profile="production",
        durations=durations_for("production"),
        store=Store(db),
        clock=clock,
        audit=Audit(clock),
    )


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise UsageError("the passwords differ")
    if not 1 <= len(password) <= 256:
        raise UsageError("a password is 1..256 characters")
    return password


def otpauth_uri(name: str, secret: str) -> str:
    label = urllib.parse.quote(f"{ISSUER}:{name}")
    query = urllib.parse.urlencode({"secret": secret, "issuer": ISSUER})
    return f"otpauth://totp/{label}?{query}"


def cmd_add_user(args: argparse.Namespace) -> int:
    if not 1 <= len(args.name) <= 64:
        raise UsageError("a username is 1..64 characters")
    auth = admin(args.db)
    with auth.store.transaction() as tx:
        exists = tx.account(args.name) is not None
    if exists:
        raise UsageError(f"{args.name} already exists (remove-user first)")
    account = auth.create_account(args.name, read_password(args.password_stdin))
    uri = otpauth_uri(account.username, account.totp_secret)
    print(f"Account {account.username} created.")
    print(f"Scan this into an authenticator app, or enter the URI:\n{uri}")
    segno.make(uri, error="m").terminal(compact=True)
    print("Backup codes (each works once; they are not shown again):")
    for code in account.backup_codes:
        print(f"  {code}")
    return 0


def cmd_list_users(args: argparse.Namespace) -> int:
    auth = admin(args.db)
    now = auth.clock.now()
    with auth.store.transaction() as tx:
        rows = [(name, auth.lockout.current(tx.throttle(name), now)) for name in tx.usernames()]
    for name, state in rows:
        if auth.lockout.is_locked(state, now):
            status = f"locked for {auth.lockout.retry_after(state, now)} s"
        else:
            status = f"{state.failures} failures"
        print(f"{name}\t{status}")
    return 0


def cmd_remove_user(args: argparse.Namespace) -> int:
    auth = admin(args.db)
    with auth.store.transaction() as tx:
        removed = tx.delete_account(args.name)
    if not removed:
        print(f"no such user: {args.name}", file=sys.stderr)
        return 1
    print(f"removed {args.name}")
    return 0


def cmd_reset_lockout(args: argparse.Namespace) -> int:
    auth = admin(args.db)
    auth.reset_lockout(args.name)
    print(f"lockout cleared for {args.name}")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "add-user": cmd_add_user,
    "list-users": cmd_list_users,
    "remove-user": cmd_remove_user,
    "reset-lockout": cmd_reset_lockout,
}


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ProfileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
