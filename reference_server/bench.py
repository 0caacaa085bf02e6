"""`python -m reference_server.bench`: throughput and costs, each against a baseline measured in
the same run (a bare Starlette hello endpoint served the same way; pyotp for TOTP verify).

Targets: dashboard >= 0.5x hello, verify >= 0.3x hello, TOTP verify <= 1.0x pyotp. Under a
32-connection login flood (INPUT-6, bench_flood.py): dashboard req/s >= 0.5x of that under a flood
of the same shape refused before hashing, server peak RSS <= 300 MB. Figures are printed, never
asserted: speed is a benchmark's business, not a unit test's.
"""

from __future__ import annotations

import argparse
import secrets
import time
import timeit
from collections.abc import Callable

import httpx
import pyotp
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from reference_server import bench_flood
from reference_server.core.passwords import Passwords
from reference_server.core.tokens import token_digest
from reference_server.core.totp import TotpPolicy, decode_secret
from reference_server.edge.server import BackgroundServer, bind, make_server
from reference_server.embedded import EmbeddedServer


async def hello(request):  # type: ignore[no-untyped-def]
    return JSONResponse({"hello": "world"})


def hello_server(clock) -> tuple[BackgroundServer, str]:  # type: ignore[no-untyped-def]
    app = Starlette(routes=[Route("/hello", hello)])
    sock = bind("127.0.0.1", 0)
    server = BackgroundServer(make_server(app, clock=clock), sock, 5.0)
    server.start()
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


def rate(seconds: float, request: Callable[[], httpx.Response], prepare=None) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Requests per second over `seconds`, timing only the requests (not their preparation)."""
    spent, count = 0.0, 0
    while spent < seconds:
        args = prepare() if prepare else ()
        start = time.perf_counter()
        response = request(*args)
        spent += time.perf_counter() - start
        if response.status_code >= 400:
            raise RuntimeError(f"benchmark request failed: {response.status_code} {response.text}")
        count += 1
    return count, count / spent


def totp_costs(repeat: int = 20000) -> tuple[float, float, float, float]:
    secret = pyotp.random_base32(32)
    key = decode_secret(secret)
    policy = TotpPolicy()
    t = time.time()
    right = pyotp.TOTP(secret).at(t)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    ours_right = min(timeit.repeat(lambda: policy.verify(key, right, t, None), number=repeat))
    ours_wrong = min(timeit.repeat(lambda: policy.verify(key, wrong, t, None), number=repeat))
    totp = pyotp.TOTP(secret)
    theirs_right = min(
        timeit.repeat(lambda: totp.verify(right, for_time=t, valid_window=1), number=repeat)
    )
    theirs_wrong = min(
        timeit.repeat(lambda: totp.verify(wrong, for_time=t, valid_window=1), number=repeat)
    )
    return (
        ours_right / repeat,
        theirs_right / repeat,
        ours_wrong / repeat,
        theirs_wrong / repeat,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_server.bench")
    parser.add_argument("--seconds", type=float, default=3.0, help="per HTTP measurement")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 130))
    passwords = Passwords.for_profile("production")
    embedded = EmbeddedServer(profile="production", accounts=1, passwords=passwords)
    clock = embedded.clock
    base_url = embedded.start()
    hello_bg, hello_url = hello_server(clock)
    account = embedded.accounts[0]
    auth = embedded.auth
    try:
        with httpx.Client(base_url=hello_url) as c:
            hello_n, hello_rps = rate(args.seconds, lambda: c.get("/hello"))
        with httpx.Client(base_url=base_url, timeout=30) as c:
            creds = {"username": account.username, "password": account.password}
            login_n, login_rps = rate(args.seconds, lambda: c.post("/api/auth/login", json=creds))

            def fresh_challenge() -> tuple[dict[str, str]]:
                # a new step and a new challenge per verify, made outside the timed request
                clock.advance(30)
                token = secrets.token_urlsafe(32)
                with auth.store.transaction() as tx:
                    tx.add_challenge(token_digest(token), account.username, clock.now())
                code = pyotp.TOTP(account.totp_secret).at(clock.now())
                return ({"challenge_token": token, "totp_code": code},)

            verify_n, verify_rps = rate(
                args.seconds,
                lambda body: c.post("/api/auth/verify", json=body),
                prepare=fresh_challenge,
            )
            body = fresh_challenge()[0]
            session = c.post("/api/auth/verify", json=body).json()["session_token"]
            headers = {"Authorization": f"Bearer {session}"}
            dash_n, dash_rps = rate(args.seconds, lambda: c.get("/api/dashboard", headers=headers))
    finally:
        hello_bg.stop()
        embedded.close()
    ours_right, theirs_right, ours_wrong, theirs_wrong = totp_costs()

    table = Table(title="reference server benchmark (uvicorn, loopback, one sequential client)")
    for column in ("measure", "n", "figure", "vs baseline", "target", "met"):
        table.add_column(column)

    def row(name: str, n: int, figure: str, ratio: float | None, target: str, ok: bool | None):
        table.add_row(
            name,
            str(n),
            figure,
            "" if ratio is None else f"{ratio:.2f}x",
            target,
            "" if ok is None else ("yes" if ok else "NO"),
        )

    row("hello (bare Starlette)", hello_n, f"{hello_rps:,.0f} req/s", 1.0, "baseline", None)
    dash_ratio, verify_ratio = dash_rps / hello_rps, verify_rps / hello_rps
    row(
        "GET /api/dashboard",
        dash_n,
        f"{dash_rps:,.0f} req/s",
        dash_ratio,
        ">= 0.5x",
        dash_ratio >= 0.5,
    )
    row(
        "POST /api/auth/verify",
        verify_n,
        f"{verify_rps:,.0f} req/s",
        verify_ratio,
        ">= 0.3x",
        verify_ratio >= 0.3,
    )
    row(
        "POST /api/auth/login",
        login_n,
        f"{login_rps:,.1f} req/s ({1000 / login_rps:.0f} ms)",
        login_rps / hello_rps,
        "argon2id cost",
        None,
    )
    for label, ours, theirs in (
        ("right code", ours_right, theirs_right),
        ("wrong code", ours_wrong, theirs_wrong),
    ):
        ratio = ours / theirs
        row(
            f"TOTP verify, {label} (vs pyotp window=1)",
            20000,
            f"{ours * 1e6:.1f} us (pyotp {theirs * 1e6:.1f} us)",
            ratio,
            "<= 1.0x",
            ratio <= 1.0,
        )
    console.print(table)
    p = passwords.parameters
    console.print(
        f"argon2id parameters: time_cost={p['time_cost']}, memory_cost={p['memory_cost_kib']} KiB, "
        f"parallelism={p['parallelism']} (RFC 9106 second recommendation; production accounts)"
    )
    print_flood(console, args.seconds)
    return 0


def print_flood(console: Console, seconds: float) -> None:
    runs, peak = bench_flood.measure(seconds)
    by_kind = {run.kind: run for run in runs}
    refused, login = by_kind["refused"], by_kind["login"]
    table = Table(
        title=f"INPUT-6: {bench_flood.FLOOD_CONNECTIONS}-connection login flood against "
        "`serve` (production profile, throttle off), loopback"
    )
    for column in ("measure", "n", "figure", "vs baseline", "target", "met"):
        table.add_column(column)
    for run, label in ((refused, "refused before hashing (400)"), (login, "fresh names")):
        answers = ", ".join(f"{n} x {status}" for status, n in sorted(run.answers.items()))
        table.add_row(
            f"flood: {label}",
            str(sum(run.answers.values())),
            f"{run.flood_rps:,.0f} req/s ({answers})",
            "",
            "",
            "",
        )
    ratio = login.dashboard_rps / refused.dashboard_rps
    table.add_row(
        "GET /api/dashboard during the refused flood",
        str(refused.dashboard_n),
        f"{refused.dashboard_rps:,.0f} req/s",
        "1.00x",
        "baseline",
        "",
    )
    table.add_row(
        "GET /api/dashboard during the login flood",
        str(login.dashboard_n),
        f"{login.dashboard_rps:,.0f} req/s",
        f"{ratio:.2f}x",
        ">= 0.5x",
        "yes" if ratio >= 0.5 else "NO",
    )
    table.add_row(
        "server peak RSS (VmHWM) over both floods",
        "",
        f"{peak:,.0f} MB",
        "",
        "<= 300 MB",
        "yes" if peak <= 300 else "NO",
    )
    console.print(table)


if __name__ == "__main__":
    raise SystemExit(main())
