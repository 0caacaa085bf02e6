"""`python -m pico_firmware.host.restart PID GENERATION_FILE`: the emulator's restart_command.

Asks a running emulator (PID) to restart its firmware (SIGHUP) and returns once the new
firmware accepts connections, which the emulator marks by bumping GENERATION_FILE.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    pid, marker = int(argv[0]), Path(argv[1])
    before = marker.read_text()
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if marker.read_text() != before:
                return 0
        except FileNotFoundError:
            return 1
        time.sleep(0.05)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
