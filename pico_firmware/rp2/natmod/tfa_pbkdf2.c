// PBKDF2-HMAC-SHA256 (RFC 8018 5.2) as a MicroPython dynamic native module, for tfa.pbkdf2.
//
// A login on an RP2040 spends its time here. MicroPython's hashlib has no copy(), so Python
// code hashes both padded keys again for every HMAC: 4 SHA-256 blocks an iteration plus the
// interpreter. Here the padded keys are hashed once and their states kept, so an iteration
// is 2 blocks (inner over U, outer over the inner digest) and no allocation.
//
// tfa_pbkdf2.pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, dklen: int) -> bytes

#include "py/dynruntime.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

// one 64-byte block, given as 16 big-endian words (a plain loop: unrolling by eight rounds
// measured 15 % slower on the emulated Cortex-M0+, its registers spill)
static void compress(uint32_t *h, const uint32_t *block) {
    uint32_t w[16];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t wi;
        if (i < 16) {
            wi = w[i] = block[i];
        } else {
            uint32_t w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15];
            uint32_t s0 = ROR(w15, 7) ^ ROR(w15, 18) ^ (w15 >> 3);
            uint32_t s1 = ROR(w2, 17) ^ ROR(w2, 19) ^ (w2 >> 10);
            wi = w[i & 15] = w[i & 15] + s0 + w[(i - 7) & 15] + s1;
        }
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + (g ^ (e & (f ^ g))) + K[i] + wi;
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) | (c & (a | b)));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

typedef struct {
    uint32_t h[8];
    uint32_t block[16];
    size_t fill; // bytes in block
    uint32_t total; // bytes hashed, including those in block
} sha_t;

static void sha_start(sha_t *s, const uint32_t *state, uint32_t done) {
    for (int i = 0; i < 8; i++) {
        s->h[i] = state[i];
    }
    s->fill = 0;
    s->total = done;
}

static void sha_byte(sha_t *s, uint8_t byte) {
    uint32_t *word = &s->block[s->fill >> 2];
    int shift = 24 - 8 * (s->fill & 3);
    *word = (s->fill & 3) ? (*word | ((uint32_t)byte << shift)) : ((uint32_t)byte << shift);
    if (++s->fill == 64) {
        compress(s->h, s->block);
        s->fill = 0;
    }
}

static void sha_update(sha_t *s, const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        sha_byte(s, data[i]);
    }
    s->total += len;
}

static void sha_finish(sha_t *s, uint32_t *digest) {
    uint32_t bits = s->total * 8;
    sha_byte(s, 0x80);
    while (s->fill != 56) {
        sha_byte(s, 0);
    }
    s->block[14] = s->total >> 29;
    s->block[15] = bits;
    compress(s->h, s->block);
    for (int i = 0; i < 8; i++) {
        digest[i] = s->h[i];
    }
}

// HMAC of a 32-byte message (as words) from the kept pad states: 2 blocks
static void hmac32(const uint32_t *inner, const uint32_t *outer, const uint32_t *msg, uint32_t *out) {
    uint32_t h[8], block[16];
    for (int i = 0; i < 8; i++) {
        block[i] = msg[i];
        block[i + 8] = 0;
        h[i] = inner[i];
    }
    block[8] = 0x80000000;
    block[15] = (64 + 32) * 8;
    compress(h, block);
    for (int i = 0; i < 8; i++) {
        block[i] = h[i];
        h[i] = outer[i];
    }
    compress(h, block);
    for (int i = 0; i < 8; i++) {
        out[i] = h[i];
    }
}

static mp_obj_t pbkdf2_sha256(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t pw, salt;
    mp_get_buffer_raise(args[0], &pw, MP_BUFFER_READ);
    mp_get_buffer_raise(args[1], &salt, MP_BUFFER_READ);
    mp_int_t iterations = mp_obj_get_int(args[2]);
    mp_int_t dklen = mp_obj_get_int(args[3]);
    if (iterations < 1 || dklen < 1 || dklen > 65536) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad iterations or dklen"));
    }
    // the key, hashed first if longer than a block, padded to a block
    uint8_t key[64];
    for (int i = 0; i < 64; i++) {
        key[i] = 0;
    }
    if (pw.len > 64) {
        sha_t s;
        uint32_t d[8];
        sha_start(&s, IV, 0);
        sha_update(&s, pw.buf, pw.len);
        sha_finish(&s, d);
        for (int i = 0; i < 32; i++) {
            key[i] = d[i >> 2] >> (24 - 8 * (i & 3));
        }
    } else {
        for (size_t i = 0; i < pw.len; i++) {
            key[i] = ((const uint8_t *)pw.buf)[i];
        }
    }
    uint32_t inner[8], outer[8], pad[16];
    for (int i = 0; i < 16; i++) {
        uint32_t k = ((uint32_t)key[4 * i] << 24) | ((uint32_t)key[4 * i + 1] << 16)
            | ((uint32_t)key[4 * i + 2] << 8) | key[4 * i + 3];
        pad[i] = k ^ 0x36363636;
    }
    for (int i = 0; i < 8; i++) {
        inner[i] = IV[i];
        outer[i] = IV[i];
    }
    compress(inner, pad);
    for (int i = 0; i < 16; i++) {
        pad[i] ^= 0x36363636 ^ 0x5c5c5c5c;
    }
    compress(outer, pad);

    uint8_t *out = m_new(uint8_t, dklen);
    for (mp_int_t done = 0, index = 1; done < dklen; index++) {
        // U1 = HMAC(key, salt || INT(index))
        sha_t s;
        uint32_t u[8], acc[8];
        uint8_t be[4] = {index >> 24, index >> 16, index >> 8, index};
        sha_start(&s, inner, 64);
        sha_update(&s, salt.buf, salt.len);
        sha_update(&s, be, 4);
        sha_finish(&s, u);
        uint32_t block[16];
        for (int i = 0; i < 8; i++) {
            block[i] = u[i];
            block[i + 8] = 0;
        }
        block[8] = 0x80000000;
        block[15] = (64 + 32) * 8;
        for (int i = 0; i < 8; i++) {
            u[i] = outer[i];
        }
        compress(u, block);
        for (int i = 0; i < 8; i++) {
            acc[i] = u[i];
        }
        for (mp_int_t j = 1; j < iterations; j++) {
            hmac32(inner, outer, u, u);
            for (int i = 0; i < 8; i++) {
                acc[i] ^= u[i];
            }
        }
        for (int i = 0; i < 32 && done < dklen; i++, done++) {
            out[done] = acc[i >> 2] >> (24 - 8 * (i & 3));
        }
    }
    mp_obj_t result = mp_obj_new_bytes(out, dklen);
    m_del(uint8_t, out, dklen);
    return result;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(pbkdf2_sha256_obj, 4, 4, pbkdf2_sha256);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_pbkdf2_sha256, MP_OBJ_FROM_PTR(&pbkdf2_sha256_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
