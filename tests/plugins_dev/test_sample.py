"""The sample C plugin: real workspaces, real wasmtime instances; and its Python external-process twin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from driver import Driver, I, S

REPO = Path(__file__).resolve().parents[2]

TWIN = REPO / "tests" / "plugins_py" / "sample_plugin.py"


def make_ws(tmp_path: Path) -> Path:
    for rel in ("src/b.py", "src/a.py", "src/sub/c.txt", "src/.hidden", "other/x"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    return tmp_path


def test_selector_lists_regular_files_sorted_and_absolute(built: dict[str, Path], tmp_path: Path) -> None:
    ws = make_ws(tmp_path)
    (ws / "src" / "link").symlink_to(ws / "other" / "x")
    got = Driver(built["sample"], ws).call("simple_selector", S("src"))
    expected = sorted(str(ws / p) for p in ("src/a.py", "src/b.py", "src/sub/c.txt", "src/.hidden"))
    assert got == {"Scope": {"kind": {"Folder": "src"}, "resolved": True, "paths": expected}}


def test_checks_pass_and_fail(built: dict[str, Path], tmp_path: Path) -> None:
    d = Driver(built["sample"], make_ws(tmp_path))
    src = d.call("simple_selector", S("src"))
    assert d.check("file_count_check", src, I(4)) == {"Pass": None}
    assert d.check("file_count_check", src, I(5)) == {"Fail": "Expected at least 5 files, found 4"}
    assert d.check("file_count_check", src, {"Float": 5.9}) == {"Fail": "Expected at least 5 files, found 4"}
    assert d.check("always_pass") == {"Pass": None}
    assert d.check("always_fail") == {"Fail": "This check always fails"}
    assert d.check("nope") == {"Error": "Unknown check function: sample.nope"}
    assert d.check("file_count_check", S("x"), I(1)) == {
        "Error": "file_count_check requires a scope as first argument"
    }


def test_without_fs_capability_the_folder_is_invisible(built: dict[str, Path], tmp_path: Path) -> None:
    got = Driver(built["sample"], make_ws(tmp_path), fs="none").call("simple_selector", S("src"))
    assert got["Scope"]["paths"] == []


def test_metadata_doc_and_abi(built: dict[str, Path], tmp_path: Path) -> None:
    d = Driver(built["sample"], tmp_path)
    assert d.abi_version() == 1
    assert d.metadata() == {
        "name": "sample",
        "version": "0.1.0",
        "functions": ["simple_selector"],
        "checks": ["file_count_check", "always_pass", "always_fail"],
    }
    doc = d.doc()
    assert [c["name"] for c in doc["checks"]] == ["file_count_check", "always_pass", "always_fail"]
    assert doc["checks"][0]["parameters"][1] == {
        "name": "n",
        "type": "Int",
        "description": "Minimum number of files",
    }


def test_garbage_request_is_an_error_answer(built: dict[str, Path], tmp_path: Path) -> None:
    answer = Driver(built["sample"], tmp_path).raw("library_check", b'{"function": [')
    assert answer.json["Error"].startswith("sample: cannot parse the request")


def _twin(ws: Path, requests: list[tuple[str, str, list[Any]]]) -> list[Any]:
    lines = [
        json.dumps(
            {
                "jsonrpc": "2.0",
                "method": m,
                "params": {"function": f, "args": a, "workspace": str(ws)},
                "id": i,
            }
        )
        for i, (m, f, a) in enumerate(requests, 1)
    ]
    out = subprocess.run(
        [sys.executable, str(TWIN)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [json.loads(line)["result"] for line in out.splitlines() if line.strip()]


@pytest.mark.skipif(
    not TWIN.is_file(), reason="the Python twin tests/plugins_py/sample_plugin.py is not there yet"
)
def test_same_answers_as_the_python_twin(built: dict[str, Path], tmp_path: Path) -> None:
    ws = make_ws(tmp_path).resolve()
    d = Driver(built["sample"], ws)
    src = d.call("simple_selector", S("src"))
    cases: list[tuple[str, str, list[Any]]] = [
        ("library.call", "simple_selector", [S("src")]),
        ("library.call", "simple_selector", [S("missing")]),
        ("library.check", "file_count_check", [src, I(4)]),
        ("library.check", "file_count_check", [src, I(9)]),
        ("library.check", "file_count_check", [src, {"Float": 7.5}]),
        ("library.check", "always_pass", []),
        ("library.check", "always_fail", []),
    ]
    ours = [d.request("library_" + m.split(".")[1], f, a).json for m, f, a in cases]
    assert ours == _twin(ws, cases)
