"""The target profile (spec/DECISIONS.md, "Target profile"): which server to judge and the
accounts provisioned on it."""

from __future__ import annotations

import base64
import binascii
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MIN_ACCOUNTS = 4
TIMEOUT_S = 15.0  # a request's, TLS handshake included; a slow target's profile may raise it


class ProfileError(ValueError):
    """The target profile cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class AccountSpec:
    username: str
    password: str
    totp_secret: str
    backup_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetProfile:
    base_url: str
    accounts: tuple[AccountSpec, ...]
    ca_cert: Path | None = None
    verify_tls: bool = True
    restart_command: str | None = None
    timeout_s: float = TIMEOUT_S
    name: str = ""
    source: str = field(default="", compare=False)

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def verify(self) -> str | bool:
        """What httpx takes as `verify`."""
        if not self.is_https:
            return True
        if self.ca_cert is not None:
            return str(self.ca_cert)
        return self.verify_tls


def load_profile(path: str | Path, min_accounts: int = MIN_ACCOUNTS) -> TargetProfile:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"target profile {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"target profile {path}: not valid TOML: {exc}") from None
    return profile_from_dict(
        data, base_dir=path.parent, source=str(path), min_accounts=min_accounts
    )


def profile_from_dict(
    data: dict[str, Any],
    base_dir: Path | None = None,
    source: str = "<dict>",
    min_accounts: int = MIN_ACCOUNTS,
) -> TargetProfile:
    errors: list[str] = []
    base_url = data.get("base_url")
    if not isinstance(base_url, str) or not base_url:
        errors.append("missing key 'base_url' (e.g. base_url = \"https://192.168.1.50\")")
    else:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(f"base_url {base_url!r} must be http(s)://host[:port]")
        elif parts.path not in ("", "/"):
            errors.append(f"base_url {base_url!r} must not have a path (the API lives at /api/...)")
    ca_cert = data.get("ca_cert")
    verify_tls = data.get("verify_tls", True)
    if not isinstance(verify_tls, bool):
        errors.append("'verify_tls' must be true or false")
    ca_path: Path | None = None
    if ca_cert is not None:
        if not isinstance(ca_cert, str):
            errors.append("'ca_cert' must be a path string")
        else:
            ca_path = Path(ca_cert)
            if not ca_path.is_absolute() and base_dir is not None:
                ca_path = base_dir / ca_path
            if not ca_path.exists():
                errors.append(f"ca_cert {ca_path} does not exist")
    restart = data.get("restart_command")
    if restart is not None and not (isinstance(restart, str) and restart.strip()):
        errors.append("'restart_command' must be a non-empty shell command string")
    timeout_s = data.get("timeout_s", TIMEOUT_S)
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
        errors.append("'timeout_s' must be a positive number of seconds")
    name = data.get("name", "")
    if not isinstance(name, str):
        errors.append("'name' must be a string")
    raw_accounts = data.get("accounts")
    accounts: list[AccountSpec] = []
    if raw_accounts is None:
        errors.append(
            f"missing [[accounts]]: the suite needs at least {min_accounts} test accounts"
        )
    elif not isinstance(raw_accounts, list):
        errors.append("'accounts' must be an array of tables ([[accounts]])")
    else:
        for i, raw in enumerate(raw_accounts, start=1):
            account, problems = _account(raw, i)
            errors.extend(problems)
            if account is not None:
                accounts.append(account)
        names = [a.username for a in accounts]
        if len(set(names)) != len(names):
            errors.append("account usernames must be distinct")
        if len(raw_accounts) < min_accounts:
            errors.append(
                f"too few accounts: the suite needs at least {min_accounts} test accounts, "
                f"the profile has {len(raw_accounts)} (8 let it run without waiting for locks)"
            )
    if errors:
        raise ProfileError(f"target profile {source}:\n  - " + "\n  - ".join(errors))
    return TargetProfile(
        base_url=str(base_url).rstrip("/"),
        accounts=tuple(accounts),
        ca_cert=ca_path,
        verify_tls=bool(verify_tls),
        restart_command=restart,
        timeout_s=float(timeout_s),
        name=name or str(base_url),
        source=source,
    )


def _account(raw: Any, index: int) -> tuple[AccountSpec | None, list[str]]:
    where = f"accounts[{index}]"
    if not isinstance(raw, dict):
        return None, [f"{where} must be a table"]
    problems = []
    for key in ("username", "password", "totp_secret"):
        if not isinstance(raw.get(key), str) or not raw.get(key):
            problems.append(f"{where}: missing key '{key}' (a non-empty string)")
    secret = raw.get("totp_secret")
    if isinstance(secret, str) and secret:
        cleaned = secret.replace(" ", "").upper().rstrip("=")
        try:
            base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
        except (binascii.Error, ValueError):
            problems.append(f"{where}: totp_secret is not base32")
    backup = raw.get("backup_codes", [])
    if not isinstance(backup, list) or not all(isinstance(c, str) for c in backup):
        problems.append(f"{where}: backup_codes must be a list of strings")
        backup = []
    if problems:
        return None, problems
    return AccountSpec(raw["username"], raw["password"], secret, tuple(backup)), []
