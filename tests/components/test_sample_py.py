"""The migration example: upstream's sample external plugin as a Python component (plugins/examples/sample-py)
gives the same verdicts and messages on the same .hie as the external Python plugin and the C `sample`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.wasm.component import ComponentLibrary
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import Scope
from hie_tasks.plugins_dev.build import build_plugin
from tests.cli.conftest import run_cli
from tests.components.conftest import EXAMPLES, MakeComponent, needs_componentize
from tests.e2e_plugins.test_plugin_runs import EXTERNAL_TOML, sample_workspace, wasm_toml

pytestmark = needs_componentize


@pytest.fixture(scope="session")
def sample_c_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample-c") / "sample.wasm"
    return Path(build_plugin(str(EXAMPLES / "sample"), str(out)).output)


def _results(ws: Path) -> tuple[int, list[tuple[str, str, str, str | None]]]:
    r = run_cli("run", str(ws / "spec.hie"), "-f", "json", "--no-cache")
    assert r.out, r.err
    data = json.loads(r.out)
    return r.code, [(x["element"], x["check"], x["status"], x["message"]) for x in data["results"]]


def test_same_spec_same_verdicts_as_external_and_c(
    tmp_path: Path, sample_py_wasm: Path, sample_c_wasm: Path
) -> None:
    runs = {
        "external": _results(sample_workspace(tmp_path / "external", EXTERNAL_TOML)),
        "c": _results(sample_workspace(tmp_path / "c", wasm_toml(sample_c_wasm))),
        "python-component": _results(sample_workspace(tmp_path / "py", wasm_toml(sample_py_wasm))),
    }
    assert runs["python-component"] == runs["external"] == runs["c"]
    code, got = runs["python-component"]
    assert code == 1
    assert [status for _e, _c, status, _m in got] == ["pass", "fail", "pass", "fail", "pass", "pass"]
    assert got[1][3] == "Expected at least 10 files, found 3"
    assert got[3][3] == "This check always fails"


def _answer(lib: Any, kind: str, fn: str, args: list[Any]) -> Any:
    ctx = CallContext(lib.workspace)
    try:
        if kind == "call":
            value = lib.call(fn, args, ctx)
            return ("value", value.paths if isinstance(value, Scope) else value)
        result = lib.check(fn, args, ctx)
        return (result.status.value, result.message)
    except LibraryError as exc:
        return ("error", exc.message)


def test_edge_cases_answer_like_the_c_plugin(
    tmp_path: Path, sample_py_wasm: Path, sample_c_wasm: Path, make_component: MakeComponent
) -> None:
    from hie_tasks.config import Capabilities, FsAccess, WasmLibraryConfig
    from hie_tasks.libraries.wasm.library import WasmLibrary

    ws = sample_workspace(tmp_path / "ws", "")
    (ws / "src" / "link").symlink_to(ws / "docs" / "index.md")
    caps = Capabilities(fs=FsAccess.READ)
    py = ComponentLibrary(WasmLibraryConfig("sample", str(sample_py_wasm), caps), str(ws), prefetch=False)
    c = WasmLibrary(WasmLibraryConfig("sample", str(sample_c_wasm), caps), str(ws), prefetch=False)
    src = c.call("simple_selector", ["src"], CallContext(str(ws)))
    cases: list[tuple[str, str, list[Any]]] = [
        ("call", "simple_selector", ["src"]),  # symlinks skipped, sorted, absolute
        ("call", "simple_selector", ["missing"]),
        ("call", "simple_selector", [3]),
        ("call", "nope", []),
        ("check", "file_count_check", [src, 3]),
        ("check", "file_count_check", [src, 4.9]),  # a Float is truncated
        ("check", "file_count_check", ["src", 1]),
        ("check", "file_count_check", [src, "x"]),
        ("check", "always_pass", []),
        ("check", "always_fail", []),
        ("check", "nope", []),
    ]
    ours = [_answer(py, *case) for case in cases]
    assert ours == [_answer(c, *case) for case in cases]
    assert ours[6] == ("error", "file_count_check requires a scope as first argument")
    assert ours[10] == ("error", "Unknown check function: sample.nope")


def test_doc_of_the_component(tmp_path: Path, sample_py_wasm: Path) -> None:
    ws = sample_workspace(tmp_path, wasm_toml(sample_py_wasm))
    r = run_cli("doc", "-f", "json", "-w", str(ws))
    assert r.code == 0, r.err
    sample = next(lib for lib in json.loads(r.out)["libraries"] if lib["name"] == "sample")
    assert [c["name"] for c in sample["checks"]] == ["file_count_check", "always_pass", "always_fail"]
    assert sample["checks"][0]["parameters"][1] == {
        "name": "n",
        "param_type": "Int",
        "description": "Minimum number of files",
    }
    assert sample["functions"][0]["example"] == "scope src = sample.simple_selector('src')"
