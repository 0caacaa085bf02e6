"""Make a board's configuration: users, TOTP secrets, backup codes, certificate, Wi-Fi, profile.

Everything secret is made here on the host with `secrets` (TOTP-8): the RP2040's random source
is not meant for keys. The board receives only hashes of passwords and backup codes. What a
person needs once (passwords, otpauth URIs, backup codes) is printed once and not kept, except
for the conformance accounts, whose credentials the target profile must carry to the suite.
"""

from __future__ import annotations

import ast
import base64
import datetime as dt
import hashlib
import hmac
import io
import ipaddress
import json
import os
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pyotp
import segno
import tomli_w
import typer

from reference_server import tls

PARAMS = Path(__file__).resolve().parents[1] / "src" / "tfa" / "params.py"
ITERATIONS_NAME = "PBKDF2_ITERATIONS"
BACKUP_ITERATIONS_NAME = "BACKUP_CODE_ITERATIONS"  # random codes: a low cost suffices
BACKUP_CODES = 10
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
SECRET_BYTES = 20  # 160 bits, RFC 4226 section 4
ISSUER = "pico-tfa"
PROFILES: dict[str, dict[str, int]] = {
    "production": {"lockout_s": 300, "session_ttl_s": 3600, "challenge_ttl_s": 120},
    "test": {"lockout_s": 5, "session_ttl_s": 5, "challenge_ttl_s": 5},
}
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
USERNAME_MAX = 64  # DECISIONS.md: login bodies bound both
PASSWORD_MAX = 256
PUBLIC_FILES = ("cert.der", "ca.pem")  # everything else holds a secret: owner-only (0600)


class ProvisionError(ValueError):
    """Bad input to provisioning; nothing was written."""


# -- the firmware's parameters ------------------------------------------------------------


def firmware_params(path: Path = PARAMS) -> dict[str, Any]:
    """Top-level constants of the firmware's params.py, read without running firmware code.

    `NAME = 5` and `NAME = const(5)` both count, so the board and the host share one number.
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        raise ProvisionError(
            f"{path} is missing: the firmware's parameters are not there"
        ) from None
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "const":
            value = value.args[0]
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                values[target.id] = literal
    return values


def _param_int(name: str, path: Path = PARAMS) -> int:
    value = firmware_params(path).get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ProvisionError(f"{path} defines no positive integer {name}")
    return value


def pbkdf2_iterations(path: Path = PARAMS) -> int:
    """The board's PBKDF2-HMAC-SHA256 iteration count for passwords (LOGIN-5)."""
    return _param_int(ITERATIONS_NAME, path)


def backup_code_iterations(path: Path = PARAMS) -> int:
    return _param_int(BACKUP_ITERATIONS_NAME, path)


# -- hashes and secrets --------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _pbkdf2(secret: str, iterations: int) -> str:
    salt = secrets.token_bytes(_param_int("SALT_BYTES"))
    digest = hashlib.pbkdf2_hmac(
        "sha256", secret.encode("utf-8"), salt, iterations, dklen=_param_int("HASH_BYTES")
    )
    return f"pbkdf2_sha256${iterations}${_b64(salt)}${_b64(digest)}"


def hash_password(password: str, iterations: int | None = None) -> str:
    """`pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`, the cost the firmware names."""
    if not isinstance(password, str) or not 1 <= len(password) <= PASSWORD_MAX:
        raise ProvisionError(f"a password is a string of 1..{PASSWORD_MAX} characters")
    return _pbkdf2(password, iterations or pbkdf2_iterations())


def verify_hash(secret: str, stored: str) -> bool:
    """Check a secret against a stored pbkdf2_sha256 hash, in constant time."""
    try:
        algorithm, iterations, salt, digest = stored.split("$")
        if algorithm != "pbkdf2_sha256":
            return False
        expected = base64.b64decode(digest, validate=True)
        got = hashlib.pbkdf2_hmac(
            "sha256",
            secret.encode("utf-8"),
            base64.b64decode(salt, validate=True),
            int(iterations),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def normalize_backup_code(code: str) -> str:
    """As DECISIONS.md compares them: spaces and '-' removed, lower case."""
    return code.replace(" ", "").replace("-", "").lower()


def hash_backup_code(code: str) -> str:
    return _pbkdf2(normalize_backup_code(code), backup_code_iterations())


def new_secret() -> str:
    """A 160-bit TOTP secret in base32 (32 characters, no padding)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_backup_code() -> str:
    """`xxxxx-xxxxx`: 10 characters of a 31-letter alphabet, about 50 bits."""
    chars = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def new_password() -> str:
    return secrets.token_urlsafe(15)  # 120 bits, 20 characters


def otpauth_uri(username: str, secret: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


# -- the certificate -----------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert_der: bytes
    key_der: bytes
    cert_pem: bytes
    sha256: str  # hex of the DER certificate, what clients pin and the cert screen shows


def make_certificate(
    hostname: str, ip: str | None = None, days: int = 3650, now: dt.datetime | None = None
) -> Certificate:
    """A self-signed EC P-256 server certificate for the board, SAN = hostname (and ip).

    It is its own trust anchor: clients load its PEM as their CA file, or pin its SHA-256.
    """
    check_hostname(hostname)
    hosts = [hostname] if ip is None else [hostname, str(parse_ip(ip))]
    issued = tls.issue(
        hostname,
        hosts=hosts,
        usage="server",
        server_auth=True,
        key_ids=True,
        days=days,
        now=now,
    )
    return Certificate(
        cert_der=issued.cert_der,
        key_der=issued.key_der,
        cert_pem=issued.cert_pem,
        sha256=issued.sha256,
    )


def check_hostname(hostname: str) -> str:
    if not isinstance(hostname, str) or not HOSTNAME.match(hostname):
        raise ProvisionError(f"hostname {hostname!r} is not a DNS name (letters, digits, '-', '.')")
    return hostname


def parse_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        raise ProvisionError(f"--ip {ip!r} is not an IP address") from None


# -- accounts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """One user with the credentials in clear: for the person (or the suite), never the board."""

    username: str
    password: str
    totp_secret: str
    backup_codes: tuple[str, ...]
    record: dict[str, Any] = field(repr=False)  # what users.json holds: hashes only

    def profile_entry(self) -> dict[str, Any]:
        """The account as a target profile carries it to the suite (credentials in clear)."""
        return {
            "username": self.username,
            "password": self.password,
            "totp_secret": self.totp_secret,
            "backup_codes": list(self.backup_codes),
        }


def users_file(accounts: Sequence[Account]) -> dict[str, Any]:
    """users.json: the board's accounts, hashes only."""
    return {"users": [a.record for a in accounts]}


def make_account(
    username: str, password: str | None = None, iterations: int | None = None
) -> Account:
    check_username(username)
    password = password or new_password()
    secret = new_secret()
    codes = tuple(new_backup_code() for _ in range(BACKUP_CODES))
    record = {
        "username": username,
        "password_hash": hash_password(password, iterations),
        "totp_secret": secret,
        "backup_codes": [hash_backup_code(c) for c in codes],
    }
    return Account(username, password, secret, codes, record)


def check_username(username: str) -> str:
    if not isinstance(username, str) or not 1 <= len(username) <= USERNAME_MAX:
        raise ProvisionError(f"username {username!r} must be 1..{USERNAME_MAX} characters")
    if not username.isprintable() or username != username.strip():
        raise ProvisionError(
            f"username {username!r} has unprintable or surrounding space characters"
        )
    return username


# -- the whole board -----------------------------------------------------------------------


@dataclass
class Provisioned:
    config: dict[str, Any]
    users: list[Account]
    conformance: list[Account]
    certificate: Certificate | None
    profile: dict[str, Any]


def provision(
    *,
    hostname: str,
    wifi_ssid: str,
    wifi_password: str,
    users: Sequence[str] = (),
    conformance_accounts: int = 0,
    profile: str = "production",
    ip: str | None = None,
    port: int | None = None,
    tls: bool = True,
    country: str = "GB",
    ntp_host: str = "pool.ntp.org",
    ntp_interval_s: int = 10800,
    iterations: int | None = None,
    restart_command: str | None = None,
) -> Provisioned:
    """Everything a board needs, in memory; `write` puts it in a directory."""
    check_hostname(hostname)
    if ip is not None:
        parse_ip(ip)
    if profile not in PROFILES:
        raise ProvisionError(f"profile {profile!r} is not one of {', '.join(PROFILES)}")
    if not wifi_ssid:
        raise ProvisionError("the Wi-Fi SSID is empty")
    if conformance_accounts < 0:
        raise ProvisionError("--conformance-accounts must be 0 or more")
    names = list(users) + [f"conformance-{i}" for i in range(1, conformance_accounts + 1)]
    for name in names:
        check_username(name)
    if len(set(names)) != len(names):
        raise ProvisionError("usernames must be distinct (conformance-N names are taken)")
    port = port or (443 if tls else 80)
    if not 1 <= port <= 65535:
        raise ProvisionError(f"port {port} is not a TCP port")
    iterations = iterations or pbkdf2_iterations()
    cert = make_certificate(hostname, ip) if tls else None
    people = [make_account(n, iterations=iterations) for n in users]
    suite = [make_account(n, iterations=iterations) for n in names[len(people) :]]
    config = board_config(
        hostname,
        port,
        profile,
        cert,
        wifi_ssid=wifi_ssid,
        wifi_password=wifi_password,
        country=country,
        ntp_host=ntp_host,
        ntp_interval_s=ntp_interval_s,
    )
    scheme = "https" if tls else "http"
    default_port = 443 if tls else 80
    host = ip or hostname
    if ":" in host:
        host = f"[{host}]"
    target: dict[str, Any] = {
        "name": f"{hostname} (pico-tfa board)",
        "base_url": f"{scheme}://{host}" + ("" if port == default_port else f":{port}"),
    }
    if tls:
        target["ca_cert"] = "ca.pem"
    if restart_command:
        target["restart_command"] = restart_command  # lets the suite check LOCK-6
    target["accounts"] = [a.profile_entry() for a in suite]
    return Provisioned(config, people, suite, cert, target)


def board_config(
    hostname: str,
    port: int,
    profile: str,
    certificate: Certificate | None,
    *,
    wifi_ssid: str,
    wifi_password: str = "",
    country: str = "GB",
    ntp_host: str = "pool.ntp.org",
    ntp_interval_s: int = 10800,
) -> dict[str, Any]:
    """config.json, what the firmware reads at boot: the same shape on a board and the emulator
    (no certificate: plain HTTP)."""
    return {
        "hostname": hostname,
        "port": port,
        "profile": profile,
        **PROFILES[profile],
        "tls": {"cert": "/cert.der", "key": "/key.der"} if certificate else None,
        "wifi": {"ssid": wifi_ssid, "password": wifi_password, "country": country},
        "ntp": {"host": ntp_host, "interval_s": ntp_interval_s},
        "cert_sha256": certificate.sha256 if certificate else None,
    }


def write(p: Provisioned, out: Path, force: bool = False) -> list[Path]:
    """Write the board's files into out; refuses to overwrite a board unless force."""
    if not force and (out / "config.json").exists():
        raise ProvisionError(
            f"{out} already holds a board's configuration (use --force to replace)"
        )
    users = users_file(p.users + p.conformance)
    files: dict[str, bytes] = {
        "config.json": json.dumps(p.config, indent=2).encode() + b"\n",
        "users.json": json.dumps(users, indent=2).encode() + b"\n",
        "board.toml": tomli_w.dumps(p.profile).encode(),
    }
    if p.certificate is not None:
        files["cert.der"] = p.certificate.cert_der
        files["key.der"] = p.certificate.key_der
        files["ca.pem"] = p.certificate.cert_pem
    for a in p.users:
        png = io.BytesIO()
        segno.make(otpauth_uri(a.username, a.totp_secret), error="m").save(png, kind="png", scale=6)
        files[qr_name(a.username)] = png.getvalue()
    written = []
    for name, data in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name in PUBLIC_FILES:
            path.write_bytes(data)
        else:
            _write_private(path, data)
        written.append(path)
    return written


def qr_name(username: str) -> str:
    """A file name for a user's QR code that cannot leave the qr/ folder, whatever the name."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", username)
    tag = hashlib.sha256(username.encode()).hexdigest()[:6]
    return f"qr/{safe}-{tag}.png"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def show_once(p: Provisioned, out: Path, stream: Any = sys.stdout) -> None:
    """What a person must copy now: passwords, otpauth QR codes, backup codes."""
    echo = lambda s="": print(s, file=stream)  # noqa: E731
    for a in p.users:
        echo(f"== {a.username} ==")
        echo(f"password:     {a.password}")
        echo(f"otpauth URI:  {otpauth_uri(a.username, a.totp_secret)}")
        segno.make(otpauth_uri(a.username, a.totp_secret), error="m").terminal(
            out=stream, compact=True
        )
        echo("backup codes (each works once):")
        for code in a.backup_codes:
            echo(f"  {code}")
        echo(f"QR code image: {out / qr_name(a.username)}")
        echo()
    if p.certificate is not None:
        echo(f"certificate SHA-256 (pin it): {p.certificate.sha256}")
        echo(f"CA file for clients:          {out / 'ca.pem'}")
    if p.conformance:
        echo(f"target profile: {out / 'board.toml'} ({len(p.conformance)} conformance accounts)")
    if p.users:
        echo(
            "Copy the users' passwords and backup codes now: they are shown only here, and the "
            "board keeps only their hashes."
        )
        echo("The QR images hold the TOTP secrets: delete qr/ once the users have enrolled.")
    if p.conformance:
        echo(
            f"{out / 'board.toml'} holds the conformance accounts' passwords, TOTP secrets and "
            "backup codes in clear, for the suite (owner-only; flash does not copy it)."
        )
    echo(f"Every file in {out} but cert.der and ca.pem is secret (owner-only, 0600).")


app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def main(
    out: Annotated[Path, typer.Option(metavar="DIR", help="directory for the board's files")],
    wifi_ssid: Annotated[str, typer.Option(metavar="NAME", help="Wi-Fi network name")],
    wifi_password_env: Annotated[
        str,
        typer.Option(
            metavar="VAR", help="name of the environment variable holding the Wi-Fi password"
        ),
    ],
    hostname: Annotated[
        str, typer.Option(metavar="NAME", help="the board's DNS name (certificate SAN)")
    ],
    user: Annotated[
        list[str] | None, typer.Option(metavar="NAME", help="a user to create (repeat)")
    ] = None,
    conformance_accounts: Annotated[
        int, typer.Option(metavar="N", help="test accounts for the conformance suite (>= 4)")
    ] = 0,
    profile: Annotated[
        str, typer.Option(metavar="NAME", help="production, or test (short timers)")
    ] = "production",
    ip: Annotated[
        str | None, typer.Option(metavar="ADDR", help="the board's IP, added to the SAN")
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="N", help="TCP port (443, or 80 with --plain-http)")
    ] = None,
    plain_http: Annotated[
        bool,
        typer.Option(
            "--plain-http", help="serve plain HTTP: no certificate (an explicit choice, TLS-1)"
        ),
    ] = False,
    country: Annotated[
        str, typer.Option(metavar="CC", help="Wi-Fi regulatory country code")
    ] = "GB",
    ntp_host: Annotated[str, typer.Option(metavar="HOST", help="NTP server")] = "pool.ntp.org",
    restart_command: Annotated[
        str | None,
        typer.Option(
            metavar="CMD", help="shell command that restarts the board, for the profile (LOCK-6)"
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="replace an existing configuration in DIR")
    ] = False,
) -> None:
    """Make a board's configuration in DIR: Wi-Fi, users (each one's password, otpauth QR code
    and backup codes are printed once), the EC certificate and key, ca.pem for clients, and
    board.toml, the target profile for the conformance suite."""
    wifi_password = os.environ.get(wifi_password_env)
    try:
        if wifi_password is None:
            raise ProvisionError(f"environment variable {wifi_password_env} is not set")
        p = provision(
            hostname=hostname,
            wifi_ssid=wifi_ssid,
            wifi_password=wifi_password,
            users=list(user or []),
            conformance_accounts=conformance_accounts,
            profile=profile,
            ip=ip,
            port=port,
            tls=not plain_http,
            country=country,
            ntp_host=ntp_host,
            restart_command=restart_command,
        )
        write(p, out, force=force)
    except ProvisionError as exc:
        typer.echo(f"provision: {exc}", err=True)
        raise typer.Exit(2) from None
    show_once(p, out)


if __name__ == "__main__":
    app()
