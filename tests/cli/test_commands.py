"""validate/check agreement, parse, doc, init and the upstream drop-in's command set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli

THREE_MISTAKES = (
    "import files\n"
    "element a:\n"
    "    scope s = files.folder_selector('.')\n"
    "    ref r = files.file_selector('x')\n"
    "element b:\n"
    "    check files.exists(s, )\n"
    "element c:\n"
    "    requires scope x\n"
)


@pytest.mark.parametrize(
    "source",
    [
        "import files\nelement a:\n    scope s = files.folder_selector('.')\n    check files.exists(s, 'x')\n",
        "import nosuchlib\nelement a:\n    check files.exists(files.folder_selector('.'), 'x')\n",
        THREE_MISTAKES,
    ],
)
def test_upstream_check_and_validate_agree(tmp_path: Path, source: str) -> None:
    spec = tmp_path / "s.hie"
    spec.write_text(source)
    ours = run_cli("validate", str(spec), "-f", "json", cwd=tmp_path)
    theirs = run_cli("check", str(spec), "-f", "json", cwd=tmp_path, tool="hielements")
    assert ours.code == theirs.code
    assert json.loads(ours.out) == json.loads(theirs.out)


def test_validate_reports_every_mistake_with_position(tmp_path: Path) -> None:
    spec = tmp_path / "s.hie"
    spec.write_text(THREE_MISTAKES)
    r = run_cli("validate", str(spec), "-f", "json", cwd=tmp_path)
    assert r.code == 1
    data = json.loads(r.out)
    assert data["status"] == "error"
    found = [(e["code"], e["line"]) for e in data["errors"]]
    assert [line for _code, line in found] == [4, 6, 8]
    assert data["summary"]["total_errors"] == 3
    for e in data["errors"]:
        assert e["file"] == str(spec) and e["column"] >= 1 and e["message"]


def test_validate_warning_only_is_exit_0(tmp_path: Path) -> None:
    spec = tmp_path / "s.hie"
    spec.write_text("import nosuchlib\nelement a:\n    check files.exists(files.folder_selector('.'), 'x')\n")
    r = run_cli("validate", str(spec), "-f", "json", cwd=tmp_path)
    assert r.code == 0
    data = json.loads(r.out)
    assert [w["code"] for w in data["warnings"]] == ["W001"] and data["status"] == "ok"


def test_validate_human_shows_caret(tmp_path: Path) -> None:
    spec = tmp_path / "s.hie"
    spec.write_text("element a:\n    ref r = files.file_selector('x')\n")
    r = run_cli("validate", str(spec), cwd=tmp_path)
    assert r.code == 1
    assert f"{spec}:2:" in r.out and "^" in r.out


def test_unreadable_file_exit_2_in_both_tools(tmp_path: Path) -> None:
    assert run_cli("validate", str(tmp_path / "none.hie")).code == 2
    assert run_cli("check", str(tmp_path / "none.hie"), tool="hielements").code == 2
    assert run_cli("parse", str(tmp_path / "none.hie"), tool="hielements").code == 2


def test_parse_prints_ast_json(tmp_path: Path) -> None:
    spec = tmp_path / "s.hie"
    spec.write_text("## doc\nelement a:\n    scope s<python> = files.folder_selector('src')\n")
    r = run_cli("parse", str(spec), tool="hielements")
    assert r.code == 0
    ast = json.loads(r.out)
    text = json.dumps(ast)
    assert '"python"' in text and "folder_selector" in text and '"doc"' in text
    spec.write_text("element a:\n    scope = x\n")
    r = run_cli("parse", str(spec))
    assert r.code == 1 and r.out == "" and "s.hie:2" in r.err


def test_doc_json_and_markdown(tmp_path: Path) -> None:
    r = run_cli("doc", "-f", "json", cwd=tmp_path, tool="hielements")
    assert r.code == 0
    data = json.loads(r.out)
    names = [lib["name"] for lib in data["libraries"]]
    assert names == sorted(names) and {"files", "python", "rust"} <= set(names)
    python = next(lib for lib in data["libraries"] if lib["name"] == "python")
    assert python["description"].startswith("Python language analysis library")
    assert [f["name"] for f in python["functions"]] == ["module_selector", "function_selector", "class_selector"]
    r = run_cli("doc", "-l", "files", cwd=tmp_path)
    assert "## files" in r.out and "## python" not in r.out and "### Checks" in r.out
    assert run_cli("doc", "-l", "nope", cwd=tmp_path).code == 2
    # upstream refuses absolute and `..` paths; the drop-in keeps that, `hie-tasks doc` does not (issue 13)
    assert run_cli("doc", "-o", "/tmp/x.md", cwd=tmp_path, tool="hielements").code == 2
    assert run_cli("doc", "-o", "../x.md", cwd=tmp_path, tool="hielements").code == 2
    assert run_cli("doc", "-o", "ref.md", cwd=tmp_path).code == 0
    assert (tmp_path / "ref.md").read_text().startswith("# Hielements Library Reference")


def test_init_creates_and_refuses_to_overwrite(tmp_path: Path) -> None:
    r = run_cli("init", "myproj", "-d", str(tmp_path / "p"), tool="hielements")
    assert r.code == 0, r.err
    spec = tmp_path / "p" / "myproj.hie"
    assert "scope root = files.folder_selector('.')" in spec.read_text()
    assert "check files.exists(root, 'README.md')" in spec.read_text()
    assert (tmp_path / "p" / "hielements.toml").exists()
    assert run_cli("validate", str(spec), "-w", str(tmp_path / "p")).code == 0
    again = run_cli("init", "myproj", "-d", str(tmp_path / "p"))
    assert again.code == 2 and "overwrite" in again.err
    assert run_cli("init", "bad-name!", "-d", str(tmp_path / "q")).code == 2


def test_upstream_run_leaves_no_store(tmp_path: Path) -> None:
    (tmp_path / "s.hie").write_text("element e:\n    check files.exists(files.folder_selector('.'), 's.hie')\n")
    r = run_cli("run", str(tmp_path / "s.hie"), "-f", "json", tool="hielements")
    assert r.code == 0 and json.loads(r.out)["summary"]["passed"] == 1
    assert not (tmp_path / ".hie-cache").exists()


def test_validate_several_files_reports_them_all(tmp_path: Path) -> None:
    good = tmp_path / "good.hie"
    good.write_text("element a:\n    check files.exists(files.folder_selector('.'), 'x')\n")
    bad = tmp_path / "bad.hie"
    bad.write_text("element b:\n    ref r = files.file_selector('x')\n")
    r = run_cli("validate", str(good), str(bad), "-f", "json", cwd=tmp_path)
    assert r.code == 1
    data = json.loads(r.out)
    assert [e["file"] for e in data["errors"]] == [str(bad)]
    r = run_cli("validate", str(good), str(good), cwd=tmp_path)
    assert r.code == 0 and r.out.count("is valid") == 2
    assert run_cli("check", str(good), str(bad), tool="hielements", cwd=tmp_path).code == 2  # upstream: one FILE
