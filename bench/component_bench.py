"""Python component vs C module vs external Python process, in one run, on the same sample plugin.

The three implementations of upstream's sample plugin: plugins/examples/sample-py (componentize-py
component), plugins/examples/sample (C core module), tests/plugins_py/sample_plugin.py (external process).
Measured: compile (once, into a fresh module cache), the first call of a run with the compiled artifact
already cached (fresh processes: read + verify + deserialize + first instance + call; the external plugin:
spawn + first answer), and the steady per-call latency of `file_count_check(scope, 1)` in one process.
Run: `python bench/component_bench.py [--calls N] [--runs N]`. Needs componentize-py and ziglang.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hie_tasks.plugins_dev.build import build_plugin  # noqa: E402

EXTERNAL = ROOT / "tests" / "plugins_py" / "sample_plugin.py"

#: One fresh process: make the library, time its first check (the artifact is already in the cache).
FIRST_CALL = r"""
import sys, time, json
sys.path.insert(0, sys.argv[1])
kind, path, ws, cache = sys.argv[2:6]
from hie_tasks.config import Capabilities, ExternalLibraryConfig, FsAccess, WasmLibraryConfig
from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.wasm.modcache import ModuleCache
from hie_tasks.model.values import Scope, ScopeKind
scope = Scope(ScopeKind.folder("src"), (ws + "/src/a.py",), True)
caps = Capabilities(fs=FsAccess.READ)
started = time.perf_counter()
if kind == "external":
    from hie_tasks.libraries.external import ExternalLibrary
    lib = ExternalLibrary(ExternalLibraryConfig("sample", sys.executable, (path,)), ws)
elif kind == "component":
    from hie_tasks.libraries.wasm.component import ComponentLibrary
    lib = ComponentLibrary(WasmLibraryConfig("sample", path, caps), ws, ModuleCache(cache), prefetch=False)
else:
    from hie_tasks.libraries.wasm.library import WasmLibrary
    lib = WasmLibrary(WasmLibraryConfig("sample", path, caps), ws, ModuleCache(cache), prefetch=False)
result = lib.check("file_count_check", [scope, 1], CallContext(ws))
took = time.perf_counter() - started
assert result.ok, result
lib.close()
print(json.dumps({"ms": took * 1000}))
"""


def _workspace(root: Path) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "a.py").write_text("x = 1\n")
    return root


def _first_calls(kind: str, path: str, ws: Path, cache: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", FIRST_CALL, str(ROOT), kind, path, str(ws), cache],
            capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
        out.append(float(json.loads(proc.stdout.strip().splitlines()[-1])["ms"]))
    return out


def _steady(kind: str, path: str, ws: Path, cache: str, calls: int) -> list[float]:
    from hie_tasks.config import Capabilities, ExternalLibraryConfig, FsAccess, WasmLibraryConfig
    from hie_tasks.libraries.base import CallContext, Library
    from hie_tasks.libraries.wasm.modcache import ModuleCache
    from hie_tasks.model.values import Scope, ScopeKind

    caps = Capabilities(fs=FsAccess.READ)
    lib: Library
    if kind == "external":
        from hie_tasks.libraries.external import ExternalLibrary

        lib = ExternalLibrary(ExternalLibraryConfig("sample", sys.executable, (path,)), str(ws))
    elif kind == "component":
        from hie_tasks.libraries.wasm.component import ComponentLibrary

        lib = ComponentLibrary(WasmLibraryConfig("sample", path, caps), str(ws), ModuleCache(cache), prefetch=False)
    else:
        from hie_tasks.libraries.wasm.library import WasmLibrary

        lib = WasmLibrary(WasmLibraryConfig("sample", path, caps), str(ws), ModuleCache(cache), prefetch=False)
    scope = Scope(ScopeKind.folder("src"), (str(ws / "src" / "a.py"),), True)
    for _ in range(5):  # warm: process spawned, engine and instance code paths hot
        lib.check("file_count_check", [scope, 1], CallContext(str(ws)))
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        lib.check("file_count_check", [scope, 1], CallContext(str(ws)))
        samples.append(time.perf_counter() - t)
    lib.close()
    return [s * 1000 for s in samples]


def _compile_ms(kind: str, path: str, ws: Path, cache: str) -> float:
    """First load into an empty cache (the compile), in this process."""
    from hie_tasks.config import WasmLibraryConfig
    from hie_tasks.libraries.wasm.modcache import ModuleCache

    started = time.perf_counter()
    if kind == "component":
        import io

        from hie_tasks.libraries.wasm.component import ComponentLibrary

        lib = ComponentLibrary(
            WasmLibraryConfig("sample", path), str(ws), ModuleCache(cache), prefetch=False, progress=io.StringIO()
        )
        lib.load()
    else:
        from hie_tasks.libraries.wasm.library import WasmLibrary

        WasmLibrary(WasmLibraryConfig("sample", path), str(ws), ModuleCache(cache), prefetch=False).load()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hie-component-bench-") as tmp:
        root = Path(tmp)
        ws = _workspace(root / "ws")
        cache = str(root / "modcache")
        started = time.perf_counter()
        component = build_plugin(str(ROOT / "plugins/examples/sample-py"), str(root / "sample-py.wasm"), prewarm=False)
        build_s = time.perf_counter() - started
        c_module = build_plugin(str(ROOT / "plugins/examples/sample"), str(root / "sample-c.wasm"))
        paths = {"component": component.output, "c": c_module.output, "external": str(EXTERNAL)}
        sizes = {k: Path(v).stat().st_size for k, v in paths.items()}
        compile_ms = {k: _compile_ms(k, paths[k], ws, cache) for k in ("component", "c")}
        first = {k: _first_calls(k, paths[k], ws, cache, args.runs) for k in paths}
        steady = {k: _steady(k, paths[k], ws, cache, args.calls) for k in paths}

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    def p95(xs: list[float]) -> float:
        return sorted(xs)[int(len(xs) * 0.95)]

    print(f"component build (componentize-py): {build_s:.1f} s; sizes: "
          + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sizes.items()))  # fmt: skip
    print(f"compile into an empty module cache: component {compile_ms['component']:.0f} ms, "
          f"C {compile_ms['c']:.1f} ms")  # fmt: skip
    print()
    print(f"| plugin | first call, cached (median of {args.runs} processes) | steady call median | p95 "
          "| steady vs C | steady vs external |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for k, label in (("component", "Python component"), ("c", "C module"), ("external", "external Python")):
        print(
            f"| {label} | {med(first[k]):.2f} ms | {med(steady[k]):.3f} ms | {p95(steady[k]):.3f} ms "
            f"| {med(steady[k]) / med(steady['c']):.1f}x | {med(steady[k]) / med(steady['external']):.2f}x |"
        )


if __name__ == "__main__":
    main()
