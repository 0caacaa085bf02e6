"""The reference server: serve the protocol, and manage the accounts in its SQLite database."""

# The flag spellings are an interface: nox, conformance/harness/reference.py and target profiles
# use them.

from __future__ import annotations

import argparse
import contextlib
import getpass
import ipaddress
import logging
import os
import shlex
import signal
import sys
import tempfile
from pathlib import Path

import pyotp
import segno
import tomli_w
import uvicorn
from rich.console import Console
from rich.logging import RichHandler

from reference_server.assembly import (
    Durations,
    ProfileError,
    build_authenticator,
    create_test_accounts,
    durations_for,
    parse_throttle,
    target_profile,
)
from reference_server.audit import Audit
from reference_server.auth import Authenticator
from reference_server.core.clock import SystemClock
from reference_server.edge.app import build_app
from reference_server.edge.server import bind, make_server, serve
from reference_server.hashing import HashingPool
from reference_server.store import Store
from reference_server.store.secret_key import SecretKey, SecretKeyError, default_key_path
from reference_server.tls import LOOPBACK, make_self_signed

DEFAULT_DB = "reference_server.db"
ISSUER = "pico-tfa"


class UsageError(Exception):
    """A refused command line: message on stderr, exit 2."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m reference_server", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_help = f"SQLite database file (default: {DEFAULT_DB})"

    s = sub.add_parser(
        "serve",
        help="serve the protocol over HTTPS (or plain HTTP on loopback)",
        description="Serve the protocol. Without --tls-cert/--tls-key or --self-signed it serves "
        "plain HTTP, on loopback only.",
    )
    s.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    s.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: 8000)")
    s.add_argument("--db", default=DEFAULT_DB, help=f"{db_help}, or :memory:")
    s.add_argument("--tls-cert", metavar="PEM", help="certificate chain for HTTPS")
    s.add_argument("--tls-key", metavar="PEM", help="its private key")
    s.add_argument(
        "--self-signed",
        action="store_true",
        help="HTTPS with a throwaway certificate (made for this run, deleted at exit)",
    )
    s.add_argument(
        "--profile",
        choices=["production", "test"],
        default="production",
        help="durations: production 300/3600/120 s, test 5 s (default: production)",
    )
    s.add_argument("--lockout-seconds", type=int, metavar="S", help="test profile only")
    s.add_argument("--session-ttl", type=int, metavar="S", help="test profile only")
    s.add_argument("--challenge-ttl", type=int, metavar="S", help="test profile only")
    s.add_argument(
        "--test-accounts", type=int, metavar="N", help="create N fresh conformance accounts"
    )
    s.add_argument(
        "--write-target-profile", metavar="F", help="write their target profile (TOML) to F"
    )
    s.add_argument("--insecure-http", action="store_true", help="allow plain HTTP off loopback")
    s.add_argument(
        "--audit-log",
        metavar="F",
        help="auth events as JSON lines, appended (default: beside the database, "
        "NAME.audit.jsonl; '-' for stderr)",
    )
    s.add_argument(
        "--throttle",
        metavar="MAX/WINDOW_S",
        help="per-address failure limit (LOCK-8), or off; default 50/300 (test profile 50/5)",
    )

    a = sub.add_parser("add-user", help="create an account and show its TOTP QR code")
    a.add_argument("name", help="the username (1..64 characters)")
    a.add_argument("--db", default=DEFAULT_DB, help=db_help)
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    for name, help_text in (
        ("list-users", "list accounts and their lock state"),
        ("remove-user", "delete an account"),
        ("reset-lockout", "clear an account's failures and lock"),
    ):
        c = sub.add_parser(name, help=help_text)
        if name != "list-users":
            c.add_argument("name", help="the username")
        c.add_argument("--db", default=DEFAULT_DB, help=db_help)

    r = sub.add_parser(
        "rotate-secret-key",
        help="reseal every TOTP secret with a new key; stop serve first",
    )
    r.add_argument("--db", default=DEFAULT_DB, help=db_help)
    r.add_argument("--new-key-file", metavar="PATH", required=True, help="made 0600 if missing")
    for command in sub.choices.values():
        command.add_argument(
            "--secret-key-file",
            metavar="PATH",
            help="key sealing the TOTP secrets (made 0600 on first use); default: DB path + .key",
        )
    return p


def open_store(args: argparse.Namespace) -> Store:
    """The database with its secret key (STORE-2)."""
    return Store(args.db, args.secret_key_file)


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
    # mkstemp creates the file 0600 (STORE-1): it holds passwords and secrets from the first byte
    fd, tmp = tempfile.mkstemp(prefix=".profile-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_serve(args: argparse.Namespace) -> int:
    durations = durations_for(
        args.profile, args.lockout_seconds, args.session_ttl, args.challenge_ttl
    )
    if args.throttle:
        parse_throttle(args.throttle)  # refused before anything starts
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    if args.self_signed and args.tls_cert:
        raise UsageError("--self-signed makes its own certificate: drop --tls-cert/--tls-key")
    if args.test_accounts is not None:
        if args.profile != "test":
            raise UsageError("--test-accounts needs --profile test")
        if not args.write_target_profile:
            raise UsageError("--test-accounts needs --write-target-profile PATH")
        if args.test_accounts < 1:
            raise UsageError("--test-accounts must be at least 1")
    elif args.write_target_profile:
        raise UsageError("--write-target-profile needs --test-accounts N")
    tls = bool(args.tls_cert) or args.self_signed
    if not tls and not is_loopback(args.host) and not args.insecure_http:
        raise UsageError(
            f"refusing plain HTTP on {args.host}: give --tls-cert/--tls-key (or --self-signed), "
            "or --insecure-http to choose plain HTTP explicitly"
        )
    if args.tls_cert:
        for path in (args.tls_cert, args.tls_key):
            if not Path(path).is_file():
                raise UsageError(f"no such file: {path}")
    if args.audit_log is None:
        args.audit_log = str(default_audit_log(args.db))

    console_logging()
    stopping = Stopping()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stopping)
    host = f"[{args.host}]" if ":" in args.host else args.host
    marker = restart_marker(args.write_target_profile) if args.test_accounts else None
    port: int | None = args.port
    generation = 0
    with contextlib.ExitStack() as cleanup:
        if args.self_signed:
            folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="tfa-serve-tls-"))
            hosts = tuple({*LOOPBACK, args.host})
            args.tls_cert, args.tls_key = make_self_signed(folder, hosts=hosts)
        if marker is not None:
            cleanup.callback(marker.unlink, missing_ok=True)
        while port is not None and not stopping.asked:
            port = _serve_once(args, port, host, tls, durations, generation, marker, stopping)
            generation += 1
    return 0


class Stopping:
    """Ctrl-C or SIGTERM: a clean stop (database closed, throwaway files removed). uvicorn
    stops on either and then raises it again; as KeyboardInterrupt inside its loop, that left
    the process waiting forever on its worker threads once a request had been served."""

    def __init__(self) -> None:
        self.asked = False
        self.server: uvicorn.Server | None = None

    def __call__(self, signum: int, frame: object) -> None:
        self.asked = True
        if self.server is None:
            raise SystemExit(0)  # not serving: leave through the callers' cleanup
        self.server.should_exit = True  # serving: uvicorn raised it again here, once stopped


def default_audit_log(db: str) -> Path:
    """Beside the database (reference_server.db -> reference_server.audit.jsonl)."""
    if db == ":memory:":
        return Path(DEFAULT_DB).with_suffix(".audit.jsonl")
    return Path(db).with_suffix(".audit.jsonl")


def console_logging() -> None:
    """A console for people: uvicorn's warnings and our notes through rich, no JSON lines."""
    handler = RichHandler(console=Console(stderr=True), show_path=False, markup=False)
    logging.basicConfig(level=logging.INFO, handlers=[handler], format="%(message)s")
    logging.getLogger("uvicorn").setLevel(logging.WARNING)


def restart_marker(target_profile: str) -> Path:
    """The file `serve` rewrites each time it accepts connections (reference_server.restart),
    beside the target profile that names it (a server killed by SIGKILL leaves it there).
    Absolute: the suite runs the restart_command from wherever it was started."""
    target = Path(target_profile).resolve()
    marker = target.with_name(target.name + ".generation")
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
    stopping: Stopping,
) -> int | None:
    """One life of the server, built from the database alone; its port if asked to restart."""
    clock = SystemClock()
    store = open_store(args)  # first: a wrong key refuses before anything listens
    try:
        sock = bind(args.host, port)
    except BaseException:
        store.close()
        raise
    audit = Audit(clock, args.audit_log)
    hashing = HashingPool()
    try:
        auth = build_authenticator(
            profile=args.profile,
            durations=durations,
            store=store,
            clock=clock,
            audit=audit,
            throttle=parse_throttle(args.throttle) if args.throttle else None,
        )
        port = sock.getsockname()[1]
        base_url = f"{'https' if tls else 'http'}://{host}:{port}"
        if marker is not None and generation == 0:
            write_test_profile(args, auth, base_url, tls, marker)
        auth.calibrate()
        announce(args, base_url, tls)
        server = make_server(
            build_app(auth, clock, hashing),
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
        stopping.server = server
        try:
            if not stopping.asked:
                serve(server, sock)
        finally:
            stopping.server = None
            signal.signal(signal.SIGHUP, previous)
    finally:
        sock.close()
        store.close()
        audit.close()
        hashing.shutdown()
    if asked and not stopping.asked:
        print("restarting: state reopened from the database", file=sys.stderr)
        return port
    return None


def announce(args: argparse.Namespace, base_url: str, tls: bool) -> None:
    """Where to reach the server, over what, and where its files are."""
    if tls:
        scheme = "HTTPS" + (f" (throwaway certificate {args.tls_cert})" if args.self_signed else "")
    else:
        where = "loopback only" if is_loopback(args.host) else "explicitly chosen (--insecure-http)"
        scheme = f"plain HTTP without TLS ({where}; HTTPS: --self-signed or --tls-cert/--tls-key)"
    print(f"listening on {base_url} (profile {args.profile}, db {args.db})", flush=True)
    print(f"  scheme: {scheme}", flush=True)
    print(f"  audit log: {'stderr' if args.audit_log == '-' else args.audit_log}", flush=True)


def write_test_profile(
    args: argparse.Namespace, auth: Authenticator, base_url: str, tls: bool, marker: Path
) -> None:
    """Fresh conformance accounts and their target profile, with a restart_command (LOCK-6)."""
    accounts = create_test_accounts(auth, args.test_accounts)
    profile = target_profile(
        base_url,
        accounts,
        ca_cert=str(Path(args.tls_cert).resolve()) if tls else None,
        name="reference server",
    )
    profile["restart_command"] = shlex.join(
        [sys.executable, "-m", "reference_server.restart", str(os.getpid()), str(marker)]
    )
    write_atomically(args.write_target_profile, tomli_w.dumps(profile).encode())
    print(f"target profile written to {args.write_target_profile}", file=sys.stderr)


def admin(args: argparse.Namespace) -> Authenticator:
    clock = SystemClock()
    return build_authenticator(
        profile="production",
        durations=durations_for("production"),
        store=open_store(args),
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
    """pyotp's key URI, as provisioning a board writes it (`otpauth://totp/pico-tfa:alice?...`)."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def cmd_add_user(args: argparse.Namespace) -> int:
    if not 1 <= len(args.name) <= 64:
        raise UsageError("a username is 1..64 characters")
    auth = admin(args)
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
    auth = admin(args)
    now = auth.clock.now()
    with auth.store.transaction() as tx:
        rows = [(name, auth.lockout.current(tx.throttle(name), now)) for name in tx.usernames()]
    for name, state in rows:
        if auth.lockout.is_locked(state, now):
            status = f"locked for {auth.lockout.retry_after(state, now)} s"
        else:
            status = f"{state.failures} failure{'' if state.failures == 1 else 's'}"
        print(f"{name}\t{status}")
    return 0


def cmd_remove_user(args: argparse.Namespace) -> int:
    auth = admin(args)
    with auth.store.transaction() as tx:
        removed = tx.delete_account(args.name)
    if not removed:
        print(f"no such user: {args.name}", file=sys.stderr)
        return 1
    print(f"removed {args.name}")
    return 0


def cmd_reset_lockout(args: argparse.Namespace) -> int:
    auth = admin(args)
    auth.reset_lockout(args.name)
    print(f"lockout cleared for {args.name}")
    return 0


def cmd_rotate_secret_key(args: argparse.Namespace) -> int:
    """Reseal in one transaction: a failure leaves every secret under the old key."""
    old_path = args.secret_key_file or default_key_path(args.db)
    if not Path(old_path).is_file():
        raise UsageError(f"no secret key file {old_path} (give --secret-key-file)")
    if Path(args.new_key_file).resolve() == Path(old_path).resolve():
        raise UsageError("--new-key-file must differ from the current key file")
    store = Store(args.db, SecretKey.load(old_path))
    try:
        count = store.rotate_key(SecretKey.load_or_create(args.new_key_file))
    finally:
        store.close()
    print(f"{count} TOTP secrets resealed with {args.new_key_file}.")
    print(f"Serve with --secret-key-file {args.new_key_file} (or move it over {old_path}).")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "add-user": cmd_add_user,
    "list-users": cmd_list_users,
    "remove-user": cmd_remove_user,
    "reset-lockout": cmd_reset_lockout,
    "rotate-secret-key": cmd_rotate_secret_key,
}


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ProfileError, SecretKeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
