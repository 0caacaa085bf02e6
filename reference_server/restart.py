"""`python -m reference_server.restart PID MARKER`: the restart_command of a served target.

The conformance suite checks LOCK-6 (a lock survives a restart) by running the target profile's
`restart_command`. This asks a running server (PID) to restart (SIGHUP) and returns once the
restarted server accepts connections, which the server marks by rewriting MARKER. `serve` stops
serving, closes its store and opens everything again from the database, as a new process would; the
board emulator (pico_firmware.host.emulator) restarts the firmware on the same board files.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

RESTART_WAIT_S = 30.0


def restart(pid: int, marker: Path, wait_s: float = RESTART_WAIT_S) -> bool:
    before = marker.read_text()
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if marker.read_text() != before:
                return True
        except FileNotFoundError:
            return False  # the server went away instead of coming back
        time.sleep(0.05)
    return False


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[0].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return 0 if restart(int(argv[0]), Path(argv[1])) else 1
    except (OSError, ValueError) as e:
        print(f"restart failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
