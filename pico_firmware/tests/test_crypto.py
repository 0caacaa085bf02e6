"""HMAC, TOTP/HOTP, PBKDF2, base32 and the constant-time compare against published vectors."""

from binascii import hexlify

from tfa import b32, ct, pbkdf2, totp
from tfa.hmac_sha1 import hmac_sha1, hmac_sha256

SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"


def _hex(b):
    return hexlify(b).decode()


def test_hmac_rfc2202_and_rfc4231():
    assert _hex(hmac_sha1(b"\x0b" * 20, b"Hi There")) == "b617318655057264e28bc0b6fb378c8ef146be00"
    assert (
        _hex(hmac_sha1(b"Jefe", b"what do ya want for nothing?"))
        == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    )
    assert (
        _hex(hmac_sha256(b"\x0b" * 20, b"Hi There"))
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    assert (
        _hex(hmac_sha256(b"Jefe", b"what do ya want for nothing?"))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_hmac_key_longer_than_block_is_hashed_first():
    msg = b"Test Using Larger Than Block-Size Key - Hash Key First"
    assert (
        _hex(hmac_sha256(b"\xaa" * 131, msg))
        == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )


def test_hotp_rfc4226_appendix_d():
    want = ["755224", "287082", "359152", "969429", "338314"]
    want += ["254676", "287922", "162583", "399871", "520489"]
    for count in range(10):
        assert totp.hotp(SEED_SHA1, count) == want[count], count


def test_totp_rfc6238_appendix_b_sha1():
    cases = [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),  # year 2603: the 64-bit step counter
    ]
    for t, code in cases:
        assert totp.totp(SEED_SHA1, t, 8) == code, t


def test_totp_rfc6238_appendix_b_sha256_with_its_32_byte_seed():
    import hashlib

    cases = [(59, "46119246"), (1111111109, "68084774"), (20000000000, "77737706")]
    for t, code in cases:
        assert totp.totp(SEED_SHA256, t, 8, hashlib.sha256) == code, t


def test_match_accepts_one_step_either_side_and_refuses_two():
    t = 1795000015
    s = totp.step(t)
    for d in (-1, 0, 1):
        code = totp.hotp(SEED_SHA1, s + d)
        assert totp.match(SEED_SHA1, code, t) == s + d
    for d in (-2, 2, 3):
        assert totp.match(SEED_SHA1, totp.hotp(SEED_SHA1, s + d), t) is None


def test_match_refuses_steps_at_or_before_the_last_accepted():
    t = 1795000015
    s = totp.step(t)
    code = totp.hotp(SEED_SHA1, s)
    assert totp.match(SEED_SHA1, code, t, last_step=s) is None
    assert totp.match(SEED_SHA1, code, t, last_step=s - 1) == s


def test_pbkdf2_sha256_known_vectors():
    p = pbkdf2.pbkdf2_sha256
    assert _hex(p(b"password", b"salt", 1)) == (
        "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
    )
    assert _hex(p(b"password", b"salt", 2)) == (
        "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"
    )
    assert _hex(p(b"password", b"salt", 4096)) == (
        "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
    )


def test_pbkdf2_rfc7914_section_11_two_blocks():
    got = pbkdf2.pbkdf2_sha256(b"passwd", b"salt", 1, 64)
    assert _hex(got) == (
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
    )


def test_pbkdf2_entry_parse_and_verify():
    entry = "pbkdf2_sha256$2$c2FsdHNhbHRzYWx0c2FsdA==$" + "x" * 4
    try:
        pbkdf2.parse(entry)
        raise AssertionError("short hash accepted")
    except ValueError:
        pass
    from binascii import b2a_base64

    salt = b"saltsaltsaltsalt"
    dk = pbkdf2.pbkdf2_sha256(b"hunter2", salt, 3)
    entry = f"pbkdf2_sha256$3${b2a_base64(salt).decode().strip()}${b2a_base64(dk).decode().strip()}"
    parsed = pbkdf2.parse(entry)
    assert parsed[0] == 3
    assert pbkdf2.verify("hunter2", parsed)
    assert not pbkdf2.verify("hunter3", parsed)
    for bad in ("", "md5$1$a$b", "pbkdf2_sha256$0$c2FsdHNhbHQ=$c2FsdHNhbHQ=", 5, None):
        try:
            pbkdf2.parse(bad)
            raise AssertionError(f"accepted {bad!r}")
        except ValueError:
            pass


def test_pack_and_unpack_round_trip():
    a = (1000, b"s" * 16, b"h" * 32)
    b = (4000, b"t" * 12, b"i" * 20)
    blob = pbkdf2.pack(a) + pbkdf2.pack(b)
    assert list(pbkdf2.unpack(blob)) == [a, b]
    assert list(pbkdf2.unpack(b"")) == []


def test_base32_decode():
    assert b32.decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") == SEED_SHA1
    assert b32.decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq") == SEED_SHA1
    assert b32.decode("MZXW6===") == b"foo"
    try:
        b32.decode("MZXW1")
        raise AssertionError("1 is not base32")
    except ValueError:
        pass


def test_constant_time_equal():
    assert ct.equal(b"abc", b"abc")
    assert ct.equal("abc", b"abc")
    assert not ct.equal(b"abc", b"abd")
    assert not ct.equal(b"abc", b"ab")
    assert not ct.equal(b"", b"a")
    assert ct.equal(b"", b"")


def test_pbkdf2_leaves_the_gc_threshold_as_it_found_it():
    import gc

    before = gc.threshold()
    try:
        gc.threshold(8000)
        pbkdf2.pbkdf2_sha256(b"pw", b"saltsaltsaltsalt", 50)
        assert gc.threshold() == 8000
        gc.threshold(-1)
        pbkdf2.pbkdf2_sha256(b"pw", b"saltsaltsaltsalt", 5)
        assert gc.threshold() == -1
    finally:
        gc.threshold(before)
