"""`python -m client`: log in to a board from a terminal or a script.

Exit codes are part of the interface (scripts and outside tests rely on them):
0 success; 2 refused (wrong credentials or code, expired challenge or session, bad input);
3 account locked (the message says how many seconds remain); 4 network or TLS failure, or the
server's clock not yet synchronised; 5 protocol error (the server answered outside the spec).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from client import totp
from client.auth import AuthClient
from client.errors import (
    AccountLocked,
    AuthError,
    ClockNotSynced,
    ProtocolError,
    ServerBusy,
    TransportError,
)
from client.models import ServerInfo

EXIT_OK = 0
EXIT_REFUSED = 2
EXIT_LOCKED = 3
EXIT_NETWORK = 4
EXIT_PROTOCOL = 5

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 2 wrong credentials or code (also an expired challenge or session, "
    "or bad input); 3 account locked (the message says how many seconds remain); 4 network or "
    "TLS failure (or the server's clock is not synchronised yet); 5 protocol error (the server "
    "answered something the spec does not allow)."
)

app = typer.Typer(
    help="Client of the Pico two-factor login (password, then a TOTP code).\n\n" + EXIT_CODES_HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

Server = Annotated[str, typer.Option("--server", help="Base URL, e.g. https://192.168.1.50")]
CaCert = Annotated[
    str | None, typer.Option("--ca-cert", help="PEM file to trust (the board's certificate)")
]
PinSha256 = Annotated[
    str | None,
    typer.Option("--pin-sha256", help="Trust only the certificate with this SHA-256 (hex)"),
]
Insecure = Annotated[
    bool, typer.Option("--insecure", help="Do not verify the certificate at all (testing only)")
]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait for each answer")]


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    # The seed was run without arguments: show what there is to do instead of failing.
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(EXIT_OK)


@app.command(epilog=EXIT_CODES_HELP)
def login(
    server: Server,
    username: Annotated[str, typer.Option("--username", help="Account name")],
    ca_cert: CaCert = None,
    pin_sha256: PinSha256 = None,
    insecure: Insecure = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first stdin line")
    ] = False,
    password_env: Annotated[
        str | None,
        typer.Option("--password-env", metavar="VAR", help="Read the password from $VAR"),
    ] = None,
    totp_secret: Annotated[
        str | None,
        typer.Option("--totp-secret", help="Base32 secret: compute the code (automation)"),
    ] = None,
    backup_code: Annotated[
        bool,
        typer.Option("--backup-code", help="Prompt for a single-use backup code instead"),
    ] = False,
    keep_session: Annotated[
        bool, typer.Option("--keep-session", help="Do not log out after showing the dashboard")
    ] = False,
    timeout: Timeout = 10.0,
) -> None:
    """Log in (password, then code) and show the dashboard.

    Without --password-stdin or --password-env the password is prompted for; without
    --totp-secret the code (or, with --backup-code, a backup code) is prompted for after the
    password is accepted.
    """
    with _outcomes():
        if backup_code and totp_secret is not None:
            raise ValueError("use either --totp-secret or --backup-code, not both")
        password = _password(password_stdin, password_env)
        if totp_secret is not None:
            with _warnings_to_stderr():
                totp.check_secret(totp_secret)
        with _client(server, ca_cert, pin_sha256, insecure, timeout) as board:
            with _warnings_to_stderr():
                if totp_secret is not None:
                    session = board.authenticate(username, password, totp_secret=totp_secret)
                elif backup_code:
                    challenge = board.login(username, password)
                    session = board.verify(challenge, backup_code=_ask_backup_code())
                else:
                    session = board.authenticate(username, password, code_provider=_ask_code)
            dashboard = board.dashboard(session)
            out.print("Access granted")
            _print_dashboard(dashboard)
            if not keep_session:
                board.logout(session)


@app.command("demo-totp", epilog=EXIT_CODES_HELP, short_help="Show a secret's current code.")
def demo_totp(
    secret: Annotated[str, typer.Option("--secret", help="Base32 TOTP secret")],
    once: Annotated[bool, typer.Option("--once", help="Print the current code and exit")] = False,
) -> None:
    """Show the current code for a secret, as an authenticator app would (local clock)."""
    with _outcomes():
        with _warnings_to_stderr():
            totp.check_secret(secret)
        if once:
            typer.echo(f"Demo TOTP: {totp.code_at(secret, time.time())}")
            return
        try:
            if out.is_terminal:
                with Live(_demo_line(secret), console=out, refresh_per_second=4) as live:
                    while True:
                        time.sleep(0.25)
                        live.update(_demo_line(secret))
            else:
                _demo_lines(secret)
        except KeyboardInterrupt:
            pass


@app.command(epilog=EXIT_CODES_HELP, short_help="Show the server's policy and clock offset.")
def info(
    server: Server,
    ca_cert: CaCert = None,
    pin_sha256: PinSha256 = None,
    insecure: Insecure = False,
    timeout: Timeout = 10.0,
) -> None:
    """Show the server's policy and how far this machine's clock is from the server's."""
    with _outcomes():
        board = _client(server, ca_cert, pin_sha256, insecure, timeout)
        with board, _warnings_to_stderr():
            facts = board.info()
        _print_info(facts)


# -- helpers ---------------------------------------------------------------------------------


@contextmanager
def _outcomes() -> Iterator[None]:
    """Turn the client's exceptions into a one-line message and the documented exit code."""
    try:
        yield
    except AccountLocked as exc:
        _fail(EXIT_LOCKED, f"Account locked: try again in {exc.retry_after} seconds")
    except AuthError as exc:
        _fail(EXIT_REFUSED, f"Access denied: {exc}")
    except (ClockNotSynced, ServerBusy) as exc:
        _fail(EXIT_NETWORK, f"Server not ready: {exc}")
    except TransportError as exc:
        _fail(EXIT_NETWORK, f"Connection failed: {exc}")
    except ProtocolError as exc:
        _fail(EXIT_PROTOCOL, f"Protocol error: {exc}")
    except ValueError as exc:
        _fail(EXIT_REFUSED, f"Invalid input: {exc}")


def _fail(code: int, message: str) -> NoReturn:
    err.print(Text(message))
    raise typer.Exit(code)


def _client(
    server: str, ca_cert: str | None, pin: str | None, insecure: bool, timeout: float
) -> AuthClient:
    if insecure and (ca_cert or pin):
        raise ValueError("--insecure cannot be combined with --ca-cert or --pin-sha256")
    if ca_cert is not None and not os.path.isfile(ca_cert):
        raise ValueError(f"no such CA file: {ca_cert}")
    return AuthClient(server, ca_cert=ca_cert, verify=not insecure, timeout=timeout, pin_sha256=pin)


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                err.print(Text(f"warning: {warning.message}"))


def _password(from_stdin: bool, env_var: str | None) -> str:
    if from_stdin and env_var:
        raise ValueError("use either --password-stdin or --password-env, not both")
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif env_var:
        password = os.environ.get(env_var, "")
        if not password:
            raise ValueError(f"the environment variable {env_var} is empty or not set")
    else:
        password = typer.prompt("Password", hide_input=True)
    if not password:
        raise ValueError("the password is empty")
    return password


def _ask_code() -> str:
    # Authenticator apps show "123 456": accept what the user reads off the screen.
    return "".join(typer.prompt("TOTP code").split())


def _ask_backup_code() -> str:
    return typer.prompt("Backup code", hide_input=True).strip()


def _demo_line(secret: str) -> Text:
    now = time.time()
    return Text(f"Demo TOTP: {totp.code_at(secret, now)}  ({totp.seconds_left(now):2d} s left)")


def _demo_lines(secret: str) -> None:
    """Not a terminal (a pipe, a log): one line per new code instead of a redrawn one."""
    shown = None
    while True:
        now = time.time()
        code = totp.code_at(secret, now)
        if code != shown:
            shown = code
            typer.echo(f"Demo TOTP: {code}  (valid for {totp.seconds_left(now)} s)")
            sys.stdout.flush()
        time.sleep(0.25)


def _table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("key")
    table.add_column("value")
    for key, value in rows:
        table.add_row(Text(_printable(key)), Text(_printable(str(value))))
    return table


def _print_dashboard(dashboard: dict[str, Any]) -> None:
    rows: list[tuple[str, Any]] = [("user", dashboard["user"]["username"])]
    session = dashboard["session"]
    issued, expires = session["issued_at"], session["expires_at"]
    # whole seconds on the wire, expiry rounded up (never early): 3600 s may read as 3601
    rows.append(("session issued", _utc(issued)))
    rows.append(("session expires", f"{_utc(expires)} ({_duration(expires - issued)} after)"))
    for key, value in (dashboard.get("server") or {}).items():
        rows.append((f"server {key}", value))
    out.print(_table("Dashboard", rows))


def _print_info(facts: ServerInfo) -> None:
    totp_text = "{algorithm}, {digits} digits, {period} s, ±{skew_steps} step".format(**facts.totp)
    lockout = facts.lockout
    lockout_text = f"{lockout['max_failures']} failures -> {lockout['duration_s']} s"
    if lockout.get("escalation"):
        lockout_text += f" (escalation: {lockout['escalation']})"
    rows: list[tuple[str, Any]] = [
        ("api version", facts.api_version),
        ("profile", facts.profile),
        ("server time", f"{_utc(facts.server_time)} ({facts.server_time})"),
        ("clock offset", f"{facts.clock_offset:+.1f} s (server minus this machine)"),
        ("time synced", facts.time_synced),
        ("totp", totp_text),
        ("lockout", lockout_text),
        ("session ttl", f"{facts.session_ttl_s} s"),
        ("challenge ttl", f"{facts.challenge_ttl_s} s"),
    ]
    if facts.date_offset is not None:
        rows.insert(4, ("date offset", f"{facts.date_offset:+.1f} s"))
    for key, value in (facts.server or {}).items():
        rows.append((f"server {key}", value))
    out.print(_table("Server", rows))
    if not facts.time_synced:
        err.print(Text("warning: the server's clock is not synchronised: it will judge no code"))


def _printable(text: str) -> str:
    """What a server sent, safe for a terminal: no escape sequences, no control characters."""
    return "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text)


def _duration(seconds: int) -> str:
    """A session's length as people say it: its wire times are whole seconds, the expiry
    rounded up, so a 3600 s session may show 3601 s between them: that is "60 min"."""
    if seconds >= 120:
        return f"{round(seconds / 60)} min"
    return f"{seconds} s"


def _utc(unix: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code instead of exiting (for embedding)."""
    try:
        app(args=argv, prog_name="python -m client")
    except SystemExit as exc:
        if exc.code is None:
            return EXIT_OK
        return exc.code if isinstance(exc.code, int) else 1
    return EXIT_OK
