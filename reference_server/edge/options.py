"""What the edge enforces and adds; each field is also a mutant seam."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

CODE = re.compile(r"[0-9]{6}")


def ascii_code(code: str) -> str | None:
    """A TOTP code is exactly 6 ASCII digits (TOTP-5); anything else is malformed (None)."""
    return code if CODE.fullmatch(code) else None


@dataclass
class EdgeOptions:
    body_limit: int | None = 1024  # INPUT-2 (None: no limit, a mutant)
    header_limit: int = 4096  # INPUT-2
    cache_control: bool = True  # SESS-1, DECISIONS: on every response
    www_authenticate: bool = True  # SESS-3
    retry_after_header: bool = True  # LOCK-2
    bad_json_status: int = 400  # INPUT-1, for a body that is not JSON (a mutant answers 500)
    # TOTP-5: the code to judge, or None when malformed (a mutant takes Unicode digits)
    code_format: Callable[[str], str | None] = ascii_code
    realm: str = "tfa"
