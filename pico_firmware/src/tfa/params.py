"""Numbers the board and the host provisioning tool must agree on; plain constants that
both MicroPython and CPython can read (the host parses this file, it does not copy it).

PBKDF2_ITERATIONS: a login should cost at most 1 s on an RP2040 at 125 MHz, with a 1.3x margin
for what the emulator does not model. The cost model, with its numbers measured on MicroPython
v1.28.0's rp2 port (RPI_PICO_W) in an emulated RP2040 (`python -m pico_firmware.rp2.bench`,
rp2040js; README, board section):
1. On a board tfa.pbkdf2 runs the native module tfa_pbkdf2 (pico_firmware/rp2/natmod): the
   padded keys' SHA-256 states are kept, so an iteration is 2 blocks of its C SHA-256 at
   ~7,840 cycles each: ~15,700 cycles, 7,970 iterations/s (measured: 4,000 iterations in
   62.7 M cycles). 1 s / 1.3 buys ~6,130 iterations: 6,000, 0.75 s (0.98 s with the margin).
2. Without the native module (the Unix port; a MicroPython that refuses the .mpy) the Python
   loop hashes both pads again each HMAC (hashlib has no copy()): 4 blocks of the firmware's
   mbedTLS SHA-256 at 8,624 cycles, plus ~21,000 cycles of interpreter: ~56,000 cycles,
   2,230 iterations/s, 2.7 s a login at 6,000 iterations.
3. EMULATOR_TO_BOARD, unmeasured: rp2040js charges one cycle a memory access and models
   neither flash wait states nor XIP cache misses, so a real board is slower by a factor
   nobody has measured yet: EMULATOR_TO_BOARD_MARGIN below is the margin budgets keep for it.
4. HOST_TO_RP2040 scales the Unix port's speed (pico_firmware.host.bench, the Python loop) to
   the emulated RP2040's Python loop: the Unix port did 300,000-490,000 iterations/s on an
   idle x86-64 core, the emulated RP2040 2,230/s, a ratio of ~130-220; 170 is used. It varies
   with the host's load: the emulated figure is the one to trust.
Entries name their own count (LOGIN-5): those made at 4,000 keep working.
Backup codes are random (~50 bits), so 1,000 iterations suffice for them.
"""

PBKDF2_ITERATIONS = 6000
BACKUP_CODE_ITERATIONS = 1000
SALT_BYTES = 16
HASH_BYTES = 32
HASH_SCHEME = "pbkdf2_sha256"
# MicroPython on an (emulated) RP2040 @125 MHz against the Unix port on an x86-64 core, for
# this loop: the ratio of two measurements (see 3. above), not a constant of nature.
HOST_TO_RP2040 = 170
# Real board against the emulator: unmeasured (see 2. above); what budgets keep as a margin.
EMULATOR_TO_BOARD_MARGIN = 1.3
