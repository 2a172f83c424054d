"""Python plugins → WebAssembly components: componentize-py over the plugin world and the Python SDK.

The command run is

    componentize-py -d plugins/sdk/wit -w plugin componentize -p DIR -p plugins/sdk/python MODULE -o OUT

which embeds CPython, the SDK (`hielements.py`) and the plugin's module into one component (≈18 MB, about
15 s and 400 MB of memory). The component is then loaded the way a run loads it — compiled into the module
cache, checked against the world (exports, abi-version) — so a broken plugin fails here, not in the first
run, and the first run does not pay the compile (≈7–14 s). componentize-py comes with the `python-plugins`
extra: `pip install 'hie-tasks[python-plugins]'`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from hie_tasks.plugins_dev.build import BuildError, PluginSource, _run, sdk_dir

WORLD = "plugin"
_MISSING = (
    "componentize-py is not installed: pip install 'hie-tasks[python-plugins]' (or pip install componentize-py)"
)
#: componentize-py's console script, run through this interpreter so PATH does not matter.
_LAUNCH = "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())"


def componentize_available() -> bool:
    return importlib.util.find_spec("componentize_py") is not None


def _module(src: PluginSource) -> Path:
    python = [s for s in src.sources if s.suffix == ".py"]
    root = next((s for s in python if s.stem in (src.name, "plugin", "main")), python[0] if python else None)
    if root is None:
        raise BuildError(f"{src.directory}: no .py source to build")
    if root.stem in (WORLD, "hielements", "wit_world") or not root.stem.isidentifier():
        raise BuildError(f"{root}: rename the module: {root.stem!r} clashes with the SDK or is not importable")
    return root


def build_component(src: PluginSource, partial: Path, output: Path, *, prewarm: bool = True) -> tuple[str, ...]:
    """Builds `src` into `partial`, moves it to `output`, pre-warms the module cache; returns the command."""
    if not componentize_available():
        raise BuildError(_MISSING)
    module = _module(src)
    cmd = [
        sys.executable, "-c", _LAUNCH,
        "-q", "-d", str(sdk_dir("wit")), "-w", WORLD, "componentize",
        "-p", str(module.parent), "-p", str(sdk_dir("python")),
        module.stem, "-o", str(partial),
    ]  # fmt: skip
    # Only the plugin's folder and the SDK go in: no virtualenv's site-packages (componentize-py adds
    # $VIRTUAL_ENV's when set), so what a plugin can import does not depend on who builds it.
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    _run(cmd, src.directory, env)
    os.replace(partial, output)
    if prewarm:
        try:
            prewarm_component(src.name, output)
        except BuildError:
            # Never leave an unusable output newer than its sources: the next build would skip it.
            output.unlink(missing_ok=True)
            raise
    return tuple(cmd)


def prewarm_component(name: str, path: Path) -> str:
    """Compile (or find) the component in the module cache and validate it; returns the cache's note."""
    from hie_tasks.config import WasmLibraryConfig
    from hie_tasks.libraries.wasm.component import ComponentLibrary
    from hie_tasks.model.errors import LibraryError

    lib = ComponentLibrary(
        WasmLibraryConfig(name=name, path=str(path), component=True), str(path.parent), prefetch=False
    )
    try:
        note = lib.load_note()
    except LibraryError as exc:
        raise BuildError(f"built, but the component is not a usable plugin: {exc}") from None
    finally:
        lib.close()
    return note
