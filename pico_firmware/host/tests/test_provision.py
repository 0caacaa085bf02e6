"""provision: the board's configuration, checked with independent tools (hashlib, pyotp,
cryptography, a real TLS handshake, the conformance suite's own profile loader)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pyotp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import reference_server.cli
from conformance.profile import load_profile
from pico_firmware.host import provision as pv

HASH = re.compile(r"^pbkdf2_sha256\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")
MICROPYTHON = shutil.which("micropython", path=str(Path(sys.executable).parent))
ROOT = Path(__file__).resolve().parents[3]


def check_pbkdf2(secret: str, stored: str) -> bool:
    """An independent reading of the stored format."""
    m = HASH.match(stored)
    assert m, stored
    salt = base64.b64decode(m.group(2))
    digest = base64.b64decode(m.group(3))
    assert len(salt) >= 16 and len(digest) == 32
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, int(m.group(1))) == digest


def run_cli(
    args: list[str], env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TEST_WIFI_PW"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "pico_firmware.host.provision", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


BASE_ARGS = ["--wifi-ssid", "lab", "--wifi-password-env", "TEST_WIFI_PW"]
PW_ENV = {"TEST_WIFI_PW": "correct horse"}


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("board")
    args = ["--out", str(out), *BASE_ARGS, "--hostname", "pico-tfa.local", "--ip", "127.0.0.1"]
    args += ["--user", "alice", "--user", "bob", "--conformance-accounts", "4"]
    result = run_cli(args, PW_ENV)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


# -- helpers ---------------------------------------------------------------------------------


def test_iterations_come_from_the_firmware_params(tmp_path: Path) -> None:
    params = tmp_path / "params.py"
    params.write_text(
        "from micropython import const\n\nPBKDF2_ITERATIONS = const(1234)\nOTHER = 'x'\n"
    )
    assert pv.firmware_params(params)["PBKDF2_ITERATIONS"] == 1234
    assert pv.pbkdf2_iterations(params) == 1234
    params.write_text("PBKDF2_ITERATIONS: int = 99\n")
    assert pv.pbkdf2_iterations(params) == 99
    params.write_text("OTHER = 1\n")
    with pytest.raises(pv.ProvisionError):
        pv.pbkdf2_iterations(params)
    with pytest.raises(pv.ProvisionError):
        pv.pbkdf2_iterations(tmp_path / "missing.py")


def test_real_params_file_names_the_iteration_count() -> None:
    n = pv.pbkdf2_iterations()
    assert n >= 1000
    text = pv.PARAMS.read_text()
    assert str(n) in text.replace("_", "")


def test_hash_password_is_salted_pbkdf2_sha256() -> None:
    a = pv.hash_password("s3cret", iterations=1500)
    b = pv.hash_password("s3cret", iterations=1500)
    assert a != b  # salted
    assert HASH.match(a).group(1) == "1500"
    assert check_pbkdf2("s3cret", a)
    assert not check_pbkdf2("s3creT", a)
    assert pv.verify_hash("s3cret", a) and not pv.verify_hash("nope", a)
    assert not pv.verify_hash("s3cret", "argon2$x")
    with pytest.raises(pv.ProvisionError):
        pv.hash_password("")
    with pytest.raises(pv.ProvisionError):
        pv.hash_password("x" * 257)


def test_hash_password_defaults_to_the_firmware_count() -> None:
    stored = pv.hash_password("pw")
    assert int(HASH.match(stored).group(1)) == pv.pbkdf2_iterations()


def test_backup_codes_hash_normalised_with_1000_iterations() -> None:
    code = pv.new_backup_code()
    assert re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code)
    stored = pv.hash_backup_code(code.upper())
    assert HASH.match(stored).group(1) == "1000"
    assert check_pbkdf2(code.replace("-", ""), stored)
    assert pv.verify_hash(pv.normalize_backup_code(f" {code[:5]} - {code[6:]} "), stored)


def test_new_secret_is_160_bits_base32() -> None:
    secrets_made = {pv.new_secret() for _ in range(20)}
    assert len(secrets_made) == 20
    for s in secrets_made:
        assert len(base64.b32decode(s)) == 20 and len(s) == 32


def test_otpauth_uri_is_the_reference_servers() -> None:
    """The same user gets the same key URI from a board and from `add-user` (one label form)."""
    secret = pyotp.random_base32()
    for name in ("alice", "bob smith", "c:d/e"):
        assert pv.otpauth_uri(name, secret) == reference_server.cli.otpauth_uri(name, secret)
    assert pv.otpauth_uri("alice", secret).startswith("otpauth://totp/pico-tfa:alice?")


def test_otpauth_uri_round_trips_through_pyotp() -> None:
    secret = pv.new_secret()
    totp = pyotp.parse_uri(pv.otpauth_uri("alice", secret))
    assert totp.secret == secret and totp.digits == 6 and totp.interval == 30
    assert totp.name == "alice" and totp.issuer == "pico-tfa"


def test_usernames_are_checked() -> None:
    for bad in ("", "x" * 65, " alice", "bob\n"):
        with pytest.raises(pv.ProvisionError):
            pv.check_username(bad)
    assert pv.qr_name("../../etc/passwd").startswith("qr/")
    assert "/" not in pv.qr_name("../../etc/passwd")[3:]
    assert pv.qr_name("a/b") != pv.qr_name("a_b")


# -- certificate ------------------------------------------------------------------------------


def test_certificate_is_p256_with_san_and_fingerprint() -> None:
    c = pv.make_certificate("pico-tfa.local", "192.168.1.50")
    cert = x509.load_der_x509_certificate(c.cert_der)
    assert c.sha256 == hashlib.sha256(c.cert_der).hexdigest()
    assert c.sha256 == cert.fingerprint(cert.signature_hash_algorithm.__class__()).hex()
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["pico-tfa.local"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["192.168.1.50"]
    key = serialization.load_der_private_key(c.key_der, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert x509.load_pem_x509_certificate(c.cert_pem) == cert
    with pytest.raises(pv.ProvisionError):
        pv.make_certificate("not a host name")
    with pytest.raises(pv.ProvisionError):
        pv.make_certificate("ok.local", "300.1.1.1")


def _handshake(c: pv.Certificate, tmp_path: Path, server_hostname: str, strict: bool) -> bytes:
    (tmp_path / "cert.pem").write_bytes(c.cert_pem)
    key = serialization.load_der_private_key(c.key_der, None)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError):
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    if strict:
        client_ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
        ):
            return tls.recv(2)
    finally:
        t.join(10)
        listener.close()


@pytest.mark.parametrize("strict", [False, True])
def test_clients_trust_the_ca_pem(tmp_path: Path, strict: bool) -> None:
    c = pv.make_certificate("pico-tfa.local", "127.0.0.1")
    assert _handshake(c, tmp_path, "pico-tfa.local", strict) == b"ok"
    assert _handshake(c, tmp_path, "127.0.0.1", strict) == b"ok"


def test_client_rejects_a_name_not_in_the_san(tmp_path: Path) -> None:
    c = pv.make_certificate("pico-tfa.local")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(c, tmp_path, "other.local", strict=False)


def test_micropython_tls_loads_the_der_pair(tmp_path: Path) -> None:
    if MICROPYTHON is None:
        pytest.fail("micropython (the Unix port) is not installed in the venv")
    c = pv.make_certificate("pico-tfa.local")
    (tmp_path / "cert.der").write_bytes(c.cert_der)
    (tmp_path / "key.der").write_bytes(c.key_der)
    script = (
        "import ssl\n"
        f"c = open({str(tmp_path / 'cert.der')!r}, 'rb').read()\n"
        f"k = open({str(tmp_path / 'key.der')!r}, 'rb').read()\n"
        "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "ctx.load_cert_chain(c, k)\n"
        "print('loaded')\n"
    )
    r = subprocess.run(
        [MICROPYTHON, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert r.returncode == 0 and "loaded" in r.stdout, r.stderr


# -- the command line -----------------------------------------------------------------------


def test_config_json_has_the_shared_shape(board: tuple[Path, str]) -> None:
    out, _ = board
    config = json.loads((out / "config.json").read_text())
    assert config == {
        "hostname": "pico-tfa.local",
        "port": 443,
        "profile": "production",
        "lockout_s": 300,
        "session_ttl_s": 3600,
        "challenge_ttl_s": 120,
        "tls": {"cert": "/cert.der", "key": "/key.der"},
        "wifi": {"ssid": "lab", "password": "correct horse", "country": "GB"},
        "ntp": {"host": "pool.ntp.org", "interval_s": 10800},
        "cert_sha256": hashlib.sha256((out / "cert.der").read_bytes()).hexdigest(),
    }


def test_users_json_holds_hashes_and_secrets(board: tuple[Path, str]) -> None:
    out, stdout = board
    users = json.loads((out / "users.json").read_text())["users"]
    assert [u["username"] for u in users] == ["alice", "bob"] + [
        f"conformance-{i}" for i in range(1, 5)
    ]
    for u in users:
        assert set(u) == {"username", "password_hash", "totp_secret", "backup_codes"}
        m = HASH.match(u["password_hash"])
        assert m and int(m.group(1)) == pv.pbkdf2_iterations()
        assert len(base64.b32decode(u["totp_secret"])) == 20
        assert len(u["backup_codes"]) == 10
        assert all(HASH.match(h).group(1) == "1000" for h in u["backup_codes"])
    # a person's password and backup codes are shown once, and they match the hashes
    alice = users[0]
    shown = re.search(r"== alice ==\npassword:\s+(\S+)", stdout).group(1)
    assert check_pbkdf2(shown, alice["password_hash"])
    assert shown not in (out / "users.json").read_text()
    codes = re.findall(r"^  ([a-z2-9]{5}-[a-z2-9]{5})$", stdout, re.M)
    assert len(codes) == 20
    assert all(
        check_pbkdf2(c.replace("-", ""), h)
        for c, h in zip(codes[:10], alice["backup_codes"], strict=True)
    )
    assert f"secret={alice['totp_secret']}" in stdout


def test_target_profile_loads_in_the_suite_and_matches_the_board(board: tuple[Path, str]) -> None:
    out, _ = board
    profile = load_profile(out / "board.toml")
    assert profile.base_url == "https://127.0.0.1"
    assert profile.ca_cert == out / "ca.pem"
    users = {u["username"]: u for u in json.loads((out / "users.json").read_text())["users"]}
    assert [a.username for a in profile.accounts] == [f"conformance-{i}" for i in range(1, 5)]
    for a in profile.accounts:
        stored = users[a.username]
        assert check_pbkdf2(a.password, stored["password_hash"])
        assert a.totp_secret == stored["totp_secret"]
        assert len(a.backup_codes) == 10
        for code, h in zip(a.backup_codes, stored["backup_codes"], strict=True):
            assert check_pbkdf2(pv.normalize_backup_code(code), h)


def test_secret_files_are_owner_only(board: tuple[Path, str]) -> None:
    out, _ = board
    for name in ("config.json", "users.json", "key.der", "board.toml"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    qr = sorted((out / "qr").iterdir())
    assert len(qr) == 2
    for path in qr:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_missing_wifi_password_env_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "board"
    r = run_cli(["--out", str(out), *BASE_ARGS, "--hostname", "h.local"])
    assert r.returncode == 2
    assert "TEST_WIFI_PW" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "extra",
    [
        ["--hostname", "bad host"],
        ["--hostname", "h.local", "--ip", "not-an-ip"],
        ["--hostname", "h.local", "--user", "x", "--user", "x"],
        ["--hostname", "h.local", "--user", "conformance-1", "--conformance-accounts", "1"],
        ["--hostname", "h.local", "--profile", "fast"],
    ],
)
def test_bad_input_is_refused_and_writes_nothing(tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "board"
    r = run_cli(["--out", str(out), *BASE_ARGS, *extra], PW_ENV)
    assert r.returncode == 2, r.stdout
    assert r.stderr.startswith("provision: ")
    assert not out.exists()


def test_an_existing_board_is_not_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "board"
    assert run_cli(["--out", str(out), *BASE_ARGS, "--hostname", "h.local"], PW_ENV).returncode == 0
    before = (out / "cert.der").read_bytes()
    r = run_cli(["--out", str(out), *BASE_ARGS, "--hostname", "h.local"], PW_ENV)
    assert r.returncode == 2 and "--force" in r.stderr
    assert (out / "cert.der").read_bytes() == before
    args = ["--out", str(out), *BASE_ARGS, "--hostname", "h.local", "--force"]
    assert run_cli(args, PW_ENV).returncode == 0
    assert (out / "cert.der").read_bytes() != before


def test_plain_http_test_profile(tmp_path: Path) -> None:
    p = pv.provision(
        hostname="emu.local",
        wifi_ssid="lab",
        wifi_password="pw",  # noqa: S106
        conformance_accounts=4,
        profile="test",
        ip="127.0.0.1",
        port=8080,
        tls=False,
        iterations=1000,
        restart_command="mpremote connect /dev/ttyACM0 reset",
    )
    pv.write(p, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["tls"] is None and config["cert_sha256"] is None and config["port"] == 8080
    assert (config["lockout_s"], config["session_ttl_s"], config["challenge_ttl_s"]) == (5, 5, 5)
    assert not (tmp_path / "key.der").exists()
    profile = load_profile(tmp_path / "board.toml")
    assert profile.base_url == "http://127.0.0.1:8080" and profile.ca_cert is None
    assert profile.restart_command == "mpremote connect /dev/ttyACM0 reset"


def test_the_firmware_verifies_what_provision_hashes(tmp_path: Path) -> None:
    """The board's own pbkdf2 (on MicroPython) accepts host hashes, and only the right input."""
    if MICROPYTHON is None:
        pytest.fail("micropython (the Unix port) is not installed in the venv")
    account = pv.make_account("alice")
    code = account.backup_codes[0]
    cases = [
        (account.password, account.record["password_hash"], True),
        (account.password + "x", account.record["password_hash"], False),
        (pv.normalize_backup_code(code.upper()), account.record["backup_codes"][0], True),
        (pv.normalize_backup_code(code), account.record["backup_codes"][1], False),
    ]
    src = Path(pv.__file__).resolve().parents[1] / "src"
    script = tmp_path / "check.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(src)!r})\n"
        "from tfa import pbkdf2\n"
        f"for secret, stored, _ in {cases!r}:\n"
        "    print(pbkdf2.verify(secret, pbkdf2.parse(stored)))\n"
    )
    r = subprocess.run(
        [MICROPYTHON, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(want) for _, _, want in cases]
