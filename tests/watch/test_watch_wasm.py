"""Watch mode with a WASM library: rebuilding the configured `.wasm` reruns exactly that library's checks."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import wasmtime

from hie_tasks.libraries.wasm.modcache import ModuleCache

from .conftest import Harness, reran_set, write_tree


def _wat_plugins() -> ModuleType:
    # The WAT plugin builders live with the WASM host's tests (not a package; loaded by path).
    path = Path(__file__).resolve().parents[1] / "wasm" / "wat_plugins.py"
    spec = importlib.util.spec_from_file_location("watch_wat_plugins", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


W = _wat_plugins()

SPEC = """\
element api:
    scope code = files.folder_selector('api')
    check verdict.is_fine(code)
    check files.exists(code, 'main.py')
"""

TOML = """\
[libraries.verdict]
path = "plugins/verdict.wasm"
"""

WASM_CHECK = "api :: verdict.is_fine(code)"


def _plugin(answer_json: str) -> bytes:
    return bytes(wasmtime.wat2wasm(W.answer(answer_json)))


def test_rebuilt_wasm_reruns_only_its_checks_with_the_new_module(
    workspace: Path, harness_factory: Callable[[], Harness]
) -> None:
    write_tree(workspace, {"api/main.py": "print('api')\n", "hielements.hie": SPEC, "hielements.toml": TOML})
    wasm = workspace / "plugins" / "verdict.wasm"
    wasm.parent.mkdir()
    wasm.write_bytes(_plugin('{"Pass": null}'))
    h = harness_factory()
    cache = ModuleCache(str(workspace.parent / "modcache"))

    first = h.start()
    assert first.report is not None and first.error is None, first.error
    statuses = {f"{o.element} :: {o.check}": o.status.value for o in first.report.outcomes}
    assert statuses == {WASM_CHECK: "pass", "api :: files.exists(code, 'main.py')": "pass"}
    before = {e.source_digest for e in cache.info()}
    assert before == {hashlib.sha256(wasm.read_bytes()).hexdigest()}

    # Rebuild the plugin in place, as a build tool writing its output would.
    rebuilt = _plugin('{"Fail": "rebuilt: not fine"}')
    wasm.write_bytes(rebuilt)
    cycle = h.next_cycle()

    assert cycle.error is None, cycle.error
    assert cycle.changed == ["plugins/verdict.wasm"]
    assert reran_set(cycle) == {WASM_CHECK}, "only the rebuilt library's checks may rerun"
    assert [(o.status.value, o.message) for o in cycle.reran] == [("fail", "rebuilt: not fine")]
    assert cycle.report is not None
    assert [(o.check, o.status.value, o.cached) for o in cycle.report.outcomes] == [
        ("verdict.is_fine(code)", "fail", False),
        ("files.exists(code, 'main.py')", "pass", True),
    ]
    # The new module was compiled and stored: the cache gained its entry next to the old one.
    after = {e.source_digest for e in cache.info()}
    assert after == before | {hashlib.sha256(rebuilt).hexdigest()}
