from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from client.auth import AuthClient
from client.tests.certs import self_signed
from client.tests.fake_board import FakeBoard


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def board() -> FakeBoard:
    fake = FakeBoard()
    fake.add("alice", "correct horse")
    return fake


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def client(board: FakeBoard, ticker: Ticker) -> Iterator[AuthClient]:
    """A client whose clocks are the board's (no offset) and the test's ticker."""
    with AuthClient(
        "https://board.test",
        transport=board.transport(),
        clock=lambda: board.now,
        monotonic=ticker,
    ) as auth:
        yield auth


@pytest.fixture(scope="session")
def board_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    return self_signed(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def other_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    return self_signed(tmp_path_factory.mktemp("other"), "impostor")
