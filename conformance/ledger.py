"""The backup codes this suite has submitted to a target, remembered across runs.

Backup codes are the target's owner's finite resource: a run cannot tell a code that an earlier
run spent from one the target wrongly refuses, unless it remembers what it sent. The ledger keeps,
per (target base URL, username), a SHA-256 of URL, name and code: never a code in clear (the
codes it holds were sent to the target, so most are spent; a hash keeps the rest unreadable).
A code is noted before it is sent: a request that got no answer may still have spent it.

The file lives in the user's cache (`$XDG_CACHE_HOME` or ~/.cache, pico-tfa/conformance/),
0600 in a 0700 directory, replaced atomically; runs in parallel merge what they noted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

FILE_NAME = "backup-codes-submitted.json"


def ledger_path() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "pico-tfa" / "conformance" / FILE_NAME


def code_key(base_url: str, username: str, code: str) -> str:
    material = "\0".join((base_url.rstrip("/"), username, code))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


class BackupLedger:
    def __init__(self, base_url: str, path: Path | None = None) -> None:
        self.base_url = base_url
        self.path = path or ledger_path()
        self._lock = threading.Lock()
        self._keys = self._read()

    def submitted(self, username: str, code: str) -> bool:
        """Whether this suite has sent this code for this account of this target before."""
        return code_key(self.base_url, username, code) in self._keys

    def note(self, username: str, code: str) -> None:
        """Remember a code as submitted (before it is sent): written to disk at once."""
        key = code_key(self.base_url, username, code)
        with self._lock:
            if key in self._keys:
                return
            self._keys.add(key)
            with contextlib.suppress(OSError):  # an unwritable cache: this run still remembers
                self._write(self._read() | self._keys)

    def never_submitted_first(self, username: str, codes: Iterable[str]) -> list[str]:
        """The codes, those never submitted first (each group keeps its order)."""
        codes = list(codes)
        return [c for c in codes if not self.submitted(username, c)] + [
            c for c in codes if self.submitted(username, c)
        ]

    def _read(self) -> set[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError):
            return set()  # unreadable: start afresh (the next note replaces it)
        keys = data.get("submitted") if isinstance(data, dict) else None
        return {k for k in keys if isinstance(k, str)} if isinstance(keys, list) else set()

    def _write(self, keys: set[str]) -> None:
        directory = self.path.parent
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # pico-tfa/
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        fd, name = tempfile.mkstemp(dir=directory, prefix=".ledger-", suffix=".tmp")  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"version": 1, "submitted": sorted(keys)}, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
