"""The auth event log (LOG-1): one JSON object per line, time/event/username/source/outcome.

Only these five fields are ever written: never a password, code, secret or token.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from reference_server.core.clock import Clock

EVENTS = {"login", "verify", "logout"}
OUTCOMES = {
    "challenge_issued",
    "invalid_credentials",
    "locked",
    "success",
    "invalid_code",
    "invalid_challenge",
    "invalid_request",
    "clock_not_synced",
    "revoked",
    "busy",
    "throttled",
}
MAX_USERNAME = 64


class Audit:
    """Writes to a file (line-buffered, appended, owner-only), to stderr for path "-", or, without
    a path, to the `reference_server.audit` logger."""

    def __init__(self, clock: Clock, path: str | Path | None = None) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self._owned = path != "-"
        if path == "-":
            self._file = sys.stderr
        elif path is not None:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._file = open(fd, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self.logger = logging.getLogger("reference_server.audit")

    def record(self, event: str, username: str | None, source: str | None, outcome: str) -> None:
        if event not in EVENTS or outcome not in OUTCOMES:
            raise ValueError(f"not an audit event: {event}/{outcome}")
        line = json.dumps(
            {
                "time": int(self.clock.now()),
                "event": event,
                "username": (username or "")[:MAX_USERNAME],
                "source": source or "",
                "outcome": outcome,
            },
            ensure_ascii=True,
        )
        if self._file is not None:
            with self._lock:
                self._file.write(line + "\n")
        else:
            self.logger.info(line)

    def close(self) -> None:
        if self._file is not None and self._owned:
            self._file.close()
            self._file = None
