"""Numbers the board and the host provisioning tool must agree on; plain constants that
both MicroPython and CPython can read (the host parses this file, it does not copy it).

PBKDF2_ITERATIONS: a login should cost about 1 s on an RP2040 at 125 MHz. The cost model,
with its numbers measured on MicroPython v1.28.0's rp2 port (RPI_PICO_W) in an emulated RP2040
(`python -m pico_firmware.rp2.bench`, rp2040js; README, board section):
1. One iteration of tfa.pbkdf2 is two HMAC calls = 4 SHA-256 compressions (hashlib has no
   copy(), so the padded keys are hashed again each time) plus the interpreter. The firmware's
   C SHA-256 costs 8,624 cycles a 64-byte block (measured): 4 blocks = ~34,500 cycles; the whole
   iteration measures ~55,700 cycles (4,000 iterations: 222.9 M cycles), so the interpreter's
   share is ~21,000 cycles. 2,244 iterations/s, 1.78 s a login at 125 MHz: over the 1 s goal.
   An iteration that kept the pads' hash state would need 2 blocks: ~7,250/s at best.
2. EMULATOR_TO_BOARD, unmeasured: rp2040js charges one cycle a memory access and models
   neither flash wait states nor XIP cache misses, so a real board is slower by a factor
   nobody has measured yet; budgets keep a 1.3x margin for it.
3. HOST_TO_RP2040 scales the Unix port's speed (pico_firmware.host.bench) to the emulated
   RP2040: the Unix port did 300,000-490,000 iterations/s on an idle x86-64 core, the emulated
   RP2040 2,244/s, a ratio of ~130-220; 170 is used. It varies with the host's load: the
   emulated figure is the one to trust.
Backup codes are random (~50 bits), so 1,000 iterations suffice for them.
"""

PBKDF2_ITERATIONS = 4000
BACKUP_CODE_ITERATIONS = 1000
SALT_BYTES = 16
HASH_BYTES = 32
HASH_SCHEME = "pbkdf2_sha256"
# MicroPython on an (emulated) RP2040 @125 MHz against the Unix port on an x86-64 core, for
# this loop: the ratio of two measurements (see 3. above), not a constant of nature.
HOST_TO_RP2040 = 170
# Real board against the emulator: unmeasured (see 2. above); what budgets keep as a margin.
EMULATOR_TO_BOARD_MARGIN = 1.3
