"""Components built from source once per session, and shared.

A componentize-py build takes ~15 s and ~400 MB, compiling the result ~5–14 s. So each component is
built at most once per session (and reused across sessions from a temp directory keyed by the digest of
everything that goes into it: the sources, the SDK, the WIT world and the componentize-py version), and
every test loads it through one session-wide module cache, so it is compiled once per session too.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from hie_tasks.config import Capabilities, WasmLibraryConfig
from hie_tasks.libraries.wasm.component import ComponentLibrary
from hie_tasks.libraries.wasm.modcache import ModuleCache
from hie_tasks.plugins_dev.build import build_plugin, load_plugin_source, sdk_dir
from hie_tasks.plugins_dev.component_build import componentize_available

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
EXAMPLES = REPO / "plugins" / "examples"
BUILD_CACHE = Path(tempfile.gettempdir()) / "hie-tasks-test-components"

needs_componentize = pytest.mark.skipif(
    not componentize_available(),
    reason="componentize-py is not installed (pip install 'hie-tasks[python-plugins]')",
)

MakeComponent = Callable[..., ComponentLibrary]


def _digest(folder: Path) -> str:
    src = load_plugin_source(folder)
    h = hashlib.sha256(importlib.metadata.version("componentize-py").encode())
    for path in [*src.sources, sdk_dir("python") / "hielements.py", *sorted(sdk_dir("wit").glob("*.wit"))]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def build_component_once(folder: Path) -> Path:
    """The component built from `folder`, from the digest-keyed build cache when it is there."""
    if not componentize_available():
        pytest.skip("componentize-py is not installed (pip install 'hie-tasks[python-plugins]')")
    out = BUILD_CACHE / f"{folder.name}-{_digest(folder)}.wasm"
    if not out.is_file():
        BUILD_CACHE.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.{os.getpid()}")
        # prewarm=False: the session's module cache (below) compiles it once, on first load.
        build_plugin(str(folder), str(partial), prewarm=False)
        os.replace(partial, out)
    return out


@pytest.fixture(scope="session")
def session_cache() -> ModuleCache:
    # The suite's private module cache (tests/conftest.py), which CLI subprocesses inherit too: one
    # compile per component per session, whether a test loads it in-process or through `hie-tasks run`.
    return ModuleCache()


@pytest.fixture(scope="session")
def probe_wasm() -> Path:
    return build_component_once(HERE / "probe")


@pytest.fixture(scope="session")
def sample_py_wasm() -> Path:
    return build_component_once(EXAMPLES / "sample-py")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "inside.txt").write_text("inside content\n")
    (tmp_path / "outside.txt").write_text("outside content\n")
    return ws


@pytest.fixture
def make_component(workspace: Path, session_cache: ModuleCache) -> MakeComponent:
    def make(path: Path, caps: Capabilities | None = None, **limits: int) -> ComponentLibrary:
        config = WasmLibraryConfig(name="probe", path=str(path), capabilities=caps or Capabilities(), **limits)
        return ComponentLibrary(config, str(workspace), session_cache, prefetch=False)

    return make


def copy_into(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(path, folder / path.name))


if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
