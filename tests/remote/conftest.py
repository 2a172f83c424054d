"""Fixtures for the remote-cache tests (helpers in remote_kit.py): one BuildGrid per session, an instance per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# --import-mode=importlib does not put test directories on sys.path; the helpers live next door.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from remote_kit import INSTANCES, Checkout, Server, next_instance, start_server  # noqa: E402


@pytest.fixture(scope="session")
def buildgrid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("buildgrid"), INSTANCES)
    yield server
    server.kill()


@pytest.fixture
def instance() -> str:
    n = next_instance()
    assert n < INSTANCES, "raise INSTANCES in tests/remote/conftest.py"
    return f"t{n}"


@pytest.fixture
def checkouts(tmp_path: Path) -> tuple[Checkout, Checkout]:
    """The same workspace at two unrelated paths, separate local stores, one plugin log."""
    logs = tmp_path / "logs"
    return (Checkout(tmp_path / "runner-1" / "work" / "repo", logs),
            Checkout(tmp_path / "runner-2" / "x" / "y" / "checkout", logs))

