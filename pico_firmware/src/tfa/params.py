"""Numbers the board and the host provisioning tool must agree on; plain constants that
both MicroPython and CPython can read (the host parses this file, it does not copy it).

PBKDF2_ITERATIONS: a login should cost about 1 s on an RP2040 at 125 MHz. No board was at
hand, so this is an estimate from two independent counts, both to be re-checked on hardware:
1. Cost model. One PBKDF2-HMAC-SHA256 iteration of tfa.pbkdf2 is two SHA-256 calls over
   96 bytes = 4 compressions, plus about 12 interpreter-level operations (two hash objects,
   update, digest, the XOR through int.from_bytes). Software SHA-256 on a Cortex-M0+ takes
   roughly 3,500 cycles per 64-byte block (~28 us at 125 MHz): ~112 us; MicroPython on an
   RP2040 runs a few million simple bytecodes a second: ~100-140 us. About 250 us an
   iteration, so 4,000 iterations ~ 1 s.
2. Scaling. `python -m pico_firmware.host.bench` times this pbkdf2 on the Unix port
   (measured here: 300,000-490,000 iterations/s, 8-13 ms a login, varying with host load)
   and multiplies by HOST_TO_RP2040 = 80, an assumed slowdown of MicroPython on an RP2040
   against the Unix port on a current x86-64 core: 0.7-1.1 s.
Backup codes are random (~50 bits), so 1,000 iterations suffice for them.
"""

PBKDF2_ITERATIONS = 4000
BACKUP_CODE_ITERATIONS = 1000
SALT_BYTES = 16
HASH_BYTES = 32
HASH_SCHEME = "pbkdf2_sha256"
# Assumed slowdown of MicroPython on an RP2040 @125 MHz against the Unix port on a current
# x86-64 core, for this loop (an estimate, not a measurement: replace it with one).
HOST_TO_RP2040 = 80
