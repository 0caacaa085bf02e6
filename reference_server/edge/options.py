"""What the edge enforces and adds; each field is also a mutant seam."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EdgeOptions:
    body_limit: int | None = 1024  # INPUT-2 (None: no limit, a mutant)
    header_limit: int = 4096  # INPUT-2
    cache_control: bool = True  # SESS-1, DECISIONS: on every response
    www_authenticate: bool = True  # SESS-3
    retry_after_header: bool = True  # LOCK-2
    bad_json_status: int = 400  # INPUT-1, for a body that is not JSON (a mutant answers 500)
    realm: str = "tfa"
