"""Numbers the board and the host provisioning tool must agree on; plain constants that
both MicroPython and CPython can import (the host reads this file, it does not copy it).

PBKDF2_ITERATIONS: a login should cost about 1 s on an RP2040 at 125 MHz. Estimate:
one PBKDF2-HMAC-SHA256 iteration is two SHA-256 calls over 96 bytes = 4 compressions, plus
about 12 MicroPython bytecode-level operations (two hash objects, update, digest, XOR through
int.from_bytes). Software SHA-256 on a Cortex-M0+ at 125 MHz: ~3,500 cycles per 64-byte
compression (~28 us); 4 of them ~112 us. MicroPython on an RP2040 runs roughly 2-4 million
simple bytecodes/s, i.e. ~12 ops ~ 100-140 us. About 250 us per iteration, so ~4,000
iterations per second; 4,000 iterations ~ 1 s. `python -m pico_firmware.host.bench` measures
this pbkdf2 on the Unix port and prints the estimate again from the host/RP2040 ratio
(HOST_TO_RP2040) so the figure can be re-checked when a board is at hand.
"""

PBKDF2_ITERATIONS = 4000
BACKUP_CODE_ITERATIONS = 1000
SALT_BYTES = 16
HASH_BYTES = 32
HASH_SCHEME = "pbkdf2_sha256"
# Estimated slowdown of MicroPython on an RP2040 @125 MHz against the Unix port on a
# current x86-64 core (pystone-style workloads: ~60-100x; the low end is used for pure
# Python loops whose C parts, here SHA-256, are relatively cheaper on the host).
HOST_TO_RP2040 = 80
