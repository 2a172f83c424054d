"""Fixtures for the incremental end-to-end tests: a fresh real workspace per test, one module cache per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# --import-mode=importlib does not put test directories on sys.path; the helpers live next door.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from kit import Workspace  # noqa: E402


@pytest.fixture(scope="session")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared so that only the first test pays for compiling the probe plugin.
    return tmp_path_factory.mktemp("modcache")


@pytest.fixture
def project(tmp_path: Path, module_cache: Path) -> Workspace:
    return Workspace(tmp_path, module_cache)
