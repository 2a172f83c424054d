"""The C SDK's JSON reading and writing, seen through the sample plugin and the Zig example."""

from __future__ import annotations

import json
from pathlib import Path

from driver import Driver, I, S


def test_hostile_file_names_come_back_as_valid_json(built: dict[str, Path], tmp_path: Path) -> None:
    ws = tmp_path.resolve()
    src = ws / "src"
    src.mkdir()
    names = ['quo"te', "new\nline", "tab\tand\\back", "ünïcödé €", "\x01ctl"]
    for n in names:
        (src / n).write_text("x")
    answer = Driver(built["sample"], ws).request("library_call", "simple_selector", [S("src")])
    paths = json.loads(answer.raw.decode("utf-8", errors="strict"))["Scope"]["paths"]
    assert paths == sorted((str(src / n) for n in names), key=lambda p: p.encode("utf-8"))


def test_invalid_utf8_in_file_content_is_replaced(built: dict[str, Path], tmp_path: Path) -> None:
    # wasmtime's WASI cannot even list a non-UTF-8 file name, so bad bytes reach a plugin through file
    # contents: here a CMD quoted back in a Fail message.
    ws = tmp_path.resolve()
    (ws / "Dockerfile").write_bytes(b"FROM x:1\nCMD run \xff\xfe \xc3\x28 ok\x01\n")
    s = {"Scope": {"kind": {"File": "Dockerfile"}, "paths": [str(ws / "Dockerfile")], "resolved": True}}
    answer = Driver(built["dockerfile"], ws).request("library_check", "entry_point", [s, S("gunicorn")])
    message = json.loads(answer.raw.decode("utf-8", errors="strict"))["Fail"]
    assert "run \ufffd\ufffd \ufffd( ok\x01" in message


def test_request_escapes_and_surrogate_pairs_are_decoded(built: dict[str, Path], tmp_path: Path) -> None:
    ws = tmp_path.resolve()
    folder = 'emoji 😀 "q"'
    (ws / folder).mkdir()
    (ws / folder / "f").write_text("x")
    d = Driver(built["sample"], ws)
    # json.dumps escapes non-ASCII as \\uXXXX, so the emoji arrives as a surrogate pair.
    body = json.dumps({"function": "simple_selector", "args": [{"String": folder}], "workspace": str(ws)})
    assert "\\ud83d\\ude00" in body
    got = d.raw("library_call", ("  \n" + body.replace(":", " :\t") + "\n").encode()).json
    assert got["Scope"]["kind"] == {"Folder": folder}
    assert got["Scope"]["paths"] == [str(ws / folder / "f")]


def test_zig_example_runs(built: dict[str, Path], tmp_path: Path) -> None:
    d = Driver(built["zig-hello"], tmp_path)
    assert d.call("greeting", S('wörld "x"')) == {"String": 'Hello, wörld "x"!'}
    assert d.check("is_positive", I(2)) == {"Pass": None}
    assert d.check("is_positive", {"Float": -0.5}) == {"Fail": "Expected a positive number"}
    assert d.call("nope") == {"Error": "Unknown function: zig_hello.nope"}
    assert d.metadata()["checks"] == ["is_positive"]
