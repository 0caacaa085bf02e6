"""Real sockets on loopback for the client's tests: uvicorn over TLS, and a server of garbage.

Both are the client conformance harness's servers (conformance.clients.serve).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from conformance.clients import serve
from conformance.clients.pki import ServerCert


def uvicorn_tls(app: Any, cert: Path, key: Path) -> AbstractContextManager[str]:
    """Serve `app` over HTTPS on an ephemeral loopback port; yield its base URL."""
    return serve.asgi_over_tls(app, ServerCert(cert, key))


@contextmanager
def raw_server(answer: bytes | None) -> Iterator[str]:
    """Answer every connection on loopback (plain TCP) with `answer` bytes, then close.

    With `answer=None` it never answers: it holds each connection until the test ends.
    """
    with serve.raw_server(answer) as (url, _):
        yield url
