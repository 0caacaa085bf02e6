"""Loads the board's configuration; a file that is missing or wrong stops the boot with a
message that names the key, rather than serving with a guessed policy.

/config.json (written by the host provisioning tool):
    {"hostname": str, "port": int (443), "profile": "production" | "test",
     "lockout_s": int, "session_ttl_s": int, "challenge_ttl_s": int,
     "tls": {"cert": "/cert.der", "key": "/key.der"} or null (plain HTTP, only when the
            operator chose it; cert and key are EC P-256 in DER),
     "wifi": {"ssid": str, "password": str, "country": "GB"},
     "ntp": {"host": "pool.ntp.org", "interval_s": 10800},
     "cert_sha256": hex SHA-256 fingerprint of the certificate (shown on the display)}
  optional, for the emulator and tests: "bind" (listen address, default "0.0.0.0"),
  "idle_timeout_s" (default 5), "max_connections" (default 1: one TLS connection at a
  time fits a Pico W's heap), "synced" (emulator clock: false = never NTP-synced),
  "events_max_bytes" (default 16384), "stop_file" (emulator: when this file appears the
  firmware stops cleanly between requests), "screenshot_dir" (emulator: PNGs of every
  screen, in its start/ and stop/ folders).
/users.json:
    {"users": [{"username": str,
                "password_hash": "pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>",
                "totp_secret": base32 str (>= 128 bits),
                "backup_codes": ["pbkdf2_sha256$1000$<salt b64>$<hash b64>", ...]}]}
In "production" the durations must be lockout 300, session 3600 and challenge <= 300
(INFO-2); "test" may shorten them. Paths in the file are board paths ("/cert.der");
`root` maps them onto a directory on the Unix port.
"""

import json

from micropython import const

from tfa import b32, pbkdf2
from tfa.auth import User
from tfa.users import UserFile

_MAX_BACKUP_CODES = const(30)


class ConfigError(Exception):
    pass


def path(root, p):
    return root + p.lstrip("/")


def _load(root, name):
    try:
        with open(path(root, name)) as f:
            data = json.load(f)
    except OSError:
        raise ConfigError(name + " is missing")
    except ValueError:
        raise ConfigError(name + " is not valid JSON")
    if not isinstance(data, dict):
        raise ConfigError(name + " is not a JSON object")
    return data


def _int(cfg, key, lo, hi, default=None):
    v = cfg.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or v > hi:
        raise ConfigError("config.json: %s must be an integer in %d..%d" % (key, lo, hi))
    return v


def load_config(root="/"):
    cfg = _load(root, "/config.json")
    if cfg.get("profile") not in ("production", "test"):
        raise ConfigError("config.json: profile must be production or test")
    _int(cfg, "port", 1, 65535)
    _int(cfg, "lockout_s", 1, 86400)
    _int(cfg, "session_ttl_s", 1, 86400)
    _int(cfg, "challenge_ttl_s", 1, 3600)
    cfg["idle_timeout_s"] = _int(cfg, "idle_timeout_s", 1, 600, 5)
    cfg["max_connections"] = _int(cfg, "max_connections", 1, 8, 1)
    cfg["events_max_bytes"] = _int(cfg, "events_max_bytes", 1024, 1048576, 16384)
    if cfg["profile"] == "production" and (
        cfg["lockout_s"] != 300 or cfg["session_ttl_s"] != 3600 or cfg["challenge_ttl_s"] > 300
    ):
        raise ConfigError("config.json: production needs lockout 300, session 3600, challenge <= 300")
    tls = cfg.get("tls")
    if tls is not None:
        if not isinstance(tls, dict) or not isinstance(tls.get("cert"), str) or not isinstance(
            tls.get("key"), str
        ):
            raise ConfigError("config.json: tls must be {cert, key} paths or null")
    if not isinstance(cfg.get("hostname", ""), str):
        raise ConfigError("config.json: hostname must be a string")
    return cfg


def load_users(root="/"):
    """The accounts of /users.json, checked, written to /users.bin as a tfa.users.UserFile
    (which only indexes them in RAM). ConfigError, and the old file kept, if one is wrong."""
    users = UserFile(path(root, "/users.bin"))
    users.write(_users(_load(root, "/users.json")))
    return users


def _users(data):
    rows = data.get("users")
    if not isinstance(rows, list) or not rows:
        raise ConfigError("users.json: users must be a non-empty list")
    seen = {}
    for i, u in enumerate(rows):
        where = "users.json: user %d: " % i
        if not isinstance(u, dict):
            raise ConfigError(where + "not an object")
        name = u.get("username")
        if not isinstance(name, str) or not 1 <= len(name) <= 64 or name in seen:
            raise ConfigError(where + "username missing, too long or repeated")
        seen[name] = True
        try:
            pw = pbkdf2.pack(pbkdf2.parse(u.get("password_hash")))
        except ValueError as e:
            raise ConfigError(where + "password_hash: " + str(e))
        try:
            secret = b32.decode(u.get("totp_secret") or "")
        except (ValueError, AttributeError):
            raise ConfigError(where + "totp_secret is not base32")
        if len(secret) < 16:
            raise ConfigError(where + "totp_secret is under 128 bits (TOTP-8)")
        codes = u.get("backup_codes", [])
        if not isinstance(codes, list) or len(codes) > _MAX_BACKUP_CODES:
            raise ConfigError(where + "backup_codes must be a list of at most 30")
        backups = b""
        for c in codes:
            try:
                backups += pbkdf2.pack(pbkdf2.parse(c))
            except ValueError as e:
                raise ConfigError(where + "backup code: " + str(e))
        rows[i] = None  # let the parsed JSON go as we go
        yield User(name, pw, secret, backups)
