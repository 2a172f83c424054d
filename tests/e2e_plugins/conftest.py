from __future__ import annotations

from pathlib import Path

import pytest

from hie_tasks.plugins_dev.build import build_plugin

REPO = Path(__file__).resolve().parents[2]
PLUGINS_PY = REPO / "tests" / "plugins_py"


@pytest.fixture(scope="session")
def wasm_plugins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example plugins built from their C sources in plugins/examples (real zig builds)."""
    out = tmp_path_factory.mktemp("e2e-wasm")
    return {
        name: Path(build_plugin(str(REPO / "plugins" / "examples" / name), str(out / f"{name}.wasm")).output)
        for name in ("sample", "dockerfile")
    }
