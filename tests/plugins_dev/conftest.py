"""Builds every example plugin once per test session (the first zig build on a machine takes ~30 s)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# --import-mode=importlib does not put test folders on sys.path; the tests import the driver by name.
sys.path.insert(0, str(Path(__file__).parent))

from hie_tasks.plugins_dev.build import build_plugin

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "plugins" / "examples"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wasm")
    return {
        name: Path(build_plugin(str(EXAMPLES / name), str(out / f"{name}.wasm")).output)
        for name in ("sample", "dockerfile", "arch", "zig-hello")
    }
