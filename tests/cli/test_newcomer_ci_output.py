"""Issue 13, CI and machine output: every format carries the diagnostics, bad -w/-o are clear exit-2
errors that create nothing, --filter matching nothing is exit 5, -q, the recap, --color and wording."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, Result, run_cli

BROKEN = "import files\nelement app:\n    scope s = files.folder_selector('.'\n    check files.exists(s, 'x')\n"


def run_env(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    full = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env or {})}
    for name in ("NO_COLOR", "FORCE_COLOR"):
        if env is None or name not in env:
            full.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "hie_tasks", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    (tmp_path / "app.hie").write_text(BROKEN)
    return tmp_path


def test_invalid_spec_json_carries_diagnostics(broken: Path) -> None:
    r = run_cli("run", "app.hie", "-f", "json", cwd=broken)
    assert r.code == 1
    data = json.loads(r.out)
    # upstream's answer to an invalid spec has no `results` (that is how readers tell it from a run)
    assert data["status"] == "error" and "results" not in data
    assert [d["code"] for d in data["diagnostics"]] == ["E007"]
    assert data["diagnostics"][0]["line"] == 3
    # upstream's validation shape is there too, for scripts written against `hielements run -f json`
    assert data["summary"]["total_errors"] == 1 and data["errors"][0]["code"] == "E007"
    assert "no checks were run" in r.err
    assert not (broken / ".hie-cache").exists()


def test_invalid_spec_junit_file_has_an_error_case(broken: Path) -> None:
    r = run_cli("run", "app.hie", "-f", "junit", "-o", "r.xml", cwd=broken)
    assert r.code == 1
    root = ET.parse(broken / "r.xml").getroot()
    errors = root.findall("./testsuite/testcase/error")
    assert len(errors) == 1 and errors[0].get("type") == "E007"
    assert root.get("errors") == "1"
    assert "1 error(s)" in r.out and "r.xml" in r.out  # the terminal still says what happened


def test_invalid_spec_github_uses_error_level(broken: Path) -> None:
    r = run_cli("run", "app.hie", "-f", "github", cwd=broken)
    assert r.code == 1
    assert any(line.startswith("::error file=app.hie,line=3,") and "title=E007" in line for line in r.out.splitlines())
    assert "::warning" not in r.out


def test_warnings_stay_warnings_in_github(tmp_path: Path) -> None:
    (tmp_path / "app.hie").write_text("import nosuchlib\nelement app:\n    check files.exists(files.folder_selector('.'), 'app.hie')\n")
    r = run_cli("run", "app.hie", "-f", "github", cwd=tmp_path)
    assert any(line.startswith("::warning ") and "W001" in line for line in r.out.splitlines()), r.out


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_workspace_must_exist(workspace: Path, kind: str) -> None:
    target = workspace / "nope" if kind == "missing" else workspace / "README.md"
    before = listing(workspace)
    r = run_cli("run", str(workspace / "spec.hie"), "-w", str(target))
    assert r.code == 2
    assert f"workspace {target} does not exist" in r.err
    assert "Traceback" not in r.err and r.out == ""
    assert listing(workspace) == before
    for command in (["explain", str(workspace / "spec.hie")], ["validate", str(workspace / "spec.hie")]):
        r = run_cli(*command, "-w", str(target))
        assert r.code == 2 and "does not exist" in r.err, command
    assert listing(workspace) == before


def test_upstream_dropin_keeps_running_with_a_bad_workspace(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "-w", str(workspace / "nope"), tool="hielements")
    assert r.code == 1  # upstream runs (and fails), so the drop-in does too, with a warning
    assert "does not exist" in r.err
    assert not (workspace / "nope").exists()


def test_output_into_missing_directory(workspace: Path) -> None:
    before = listing(workspace)
    r = run_cli("run", str(workspace / "spec.hie"), "-f", "json", "-o", str(workspace / "nodir" / "x.json"))
    assert r.code == 2
    assert "nodir" in r.err and "does not exist" in r.err
    assert "internal error" not in r.err and "bug" not in r.err
    assert listing(workspace) == before  # checked before anything ran: not even a result store


def test_human_format_with_output_writes_the_report(workspace: Path) -> None:
    out = workspace / "report.txt"
    r = run_cli("run", str(workspace / "spec.hie"), "-o", str(out), "--no-cache")
    assert r.code == 1
    text = out.read_text()
    assert "FAIL orders :: files.exists(src, 'missing.py')" in text and "\x1b[" not in text
    assert "Summary: 6 total, 2 passed, 3 failed, 1 errors" in r.out
    assert "FAIL orders" not in r.out


def test_junit_with_output_prints_the_summary(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "-f", "junit", "-o", str(workspace / "r.xml"), "--no-cache")
    assert r.code == 1
    assert "Summary: 6 total, 2 passed, 3 failed, 1 errors" in r.out and "r.xml" in r.out
    ET.parse(workspace / "r.xml")


def test_filter_matching_nothing_exits_5(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "--filter", "nosuch", "--no-cache")
    assert r.code == 5
    assert "no element matches --filter 'nosuch'" in r.err and "orders.storage" in r.err
    ok = run_cli("run", str(workspace / "spec.hie"), "--filter", "storage", "--no-cache")
    assert ok.code == 1 and "orders.storage" in ok.out
    upstream = run_cli("run", str(workspace / "spec.hie"), "--filter", "nosuch", tool="hielements")
    assert upstream.code == 0  # upstream's exit code is kept by the drop-in


def test_quiet_shows_failures_and_summary_only(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "-q", "--no-cache")
    assert r.code == 1
    assert "PASS" not in r.out and "Running" not in r.out
    assert "FAIL orders :: files.exists(src, 'missing.py')" in r.out
    assert r.out.rstrip().splitlines()[-1].startswith("Summary: 6 total")


def test_recap_after_a_screenful(tmp_path: Path) -> None:
    checks = "".join(f"    check files.exists(r, 'f{i}')\n" for i in range(30))
    (tmp_path / "f3").write_text("")
    (tmp_path / "many.hie").write_text("element e:\n    scope r = files.folder_selector('.')\n" + checks)
    r = run_env("run", "many.hie", "--no-cache", cwd=tmp_path, env={"LINES": "20"})
    lines = r.out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Summary:"))
    recap = lines[at + 1:]
    assert recap[0] == "29 checks not passing:"
    assert recap[1].startswith("FAIL e :: files.exists(r, 'f0')") and len(recap) == 30
    short = run_env("run", "many.hie", "--no-cache", cwd=tmp_path, env={"LINES": "200"})
    assert "not passing:" not in short.out


@pytest.mark.parametrize(("env", "flag", "escapes"), [
    ({"NO_COLOR": "1"}, [], False),
    ({"NO_COLOR": "1", "TERM": "xterm"}, ["--color", "auto"], False),
    ({}, ["--color", "never"], False),
    ({}, ["--color", "always"], True),
    ({"NO_COLOR": "1"}, ["--color", "always"], True),
])
def test_color_modes(workspace: Path, env: dict[str, str], flag: list[str], escapes: bool) -> None:
    r = run_env("run", "spec.hie", "--no-cache", *flag, cwd=workspace, env=env)
    assert r.code == 1
    assert ("\x1b[" in r.out) is escapes
    assert ("\x1b[" in r.err) is (escapes and bool(r.err))
    if not escapes:
        assert "FAIL orders" in r.out


def test_wording(workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "one.hie").write_text("import nosuchlib\nelement e:\n    check files.exists(files.folder_selector('.'), 'one.hie')\n")
    r = run_cli("run", "one.hie", cwd=tmp_path)
    assert "Running 1 check from one.hie" in r.out
    v = run_cli("validate", "one.hie", cwd=tmp_path)
    assert "(1 warning)" in v.out
    h = run_cli("run", "--help")
    assert "human, json, junit, github" in h.out
    c = run_cli("check", "--help")
    assert "default: ./hielements.hie, else the only *.hie in the current directory" in " ".join(c.out.split())
    bare = run_cli("cache")
    assert bare.code == 2 and "info" in bare.out and "prune" in bare.out and "required" not in bare.err
    bare = run_cli("plugins")
    assert bare.code == 2 and "build" in bare.out and "new" in bare.out


def test_store_warning_has_one_prefix(workspace: Path) -> None:
    cache = workspace / ".hie-cache"
    cache.mkdir()
    (cache / "results.sqlite").write_text("this is not a database")
    r = run_cli("run", str(workspace / "spec.hie"))
    assert "warning:" in r.err
    assert "warning: warning:" not in r.err


def test_doc_output_takes_absolute_paths(tmp_path: Path) -> None:
    target = tmp_path / "out" / "libs.md"
    target.parent.mkdir()
    r = run_cli("doc", "-o", str(target))
    assert r.code == 0, r.err
    assert target.read_text().startswith("# Hielements Library Reference")
    missing = run_cli("doc", "-o", str(tmp_path / "nodir" / "libs.md"))
    assert missing.code == 2 and "does not exist" in missing.err


def test_explain_names_scopes_with_counts(workspace: Path) -> None:
    run_cli("run", str(workspace / "spec.hie"))
    r = run_cli("explain", str(workspace / "spec.hie"))
    assert r.code == 0
    assert "scope src: 2 files" in r.out and "scope api: 1 file\n" in r.out
    assert "scope[" not in r.out
    assert "src/orders/db.py" not in r.out
    v = run_cli("explain", str(workspace / "spec.hie"), "-v")
    assert "    src/orders/db.py" in v.out and "    src/orders/api.py" in v.out
    data = json.loads(run_cli("explain", str(workspace / "spec.hie"), "-f", "json").out)
    first = data["checks"][0]
    assert first["scopes"][0]["name"] == "src" and first["scopes"][0]["files"] == 2
    assert "scope src" in first["inputs"]


def test_store_directory_is_ignored_by_git(workspace: Path) -> None:
    run_cli("run", str(workspace / "spec.hie"))
    assert (workspace / ".hie-cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not (workspace / ".gitignore").exists()
    if subprocess.run(["git", "--version"], capture_output=True).returncode == 0:
        subprocess.run(["git", "init", "-q", str(workspace)], check=True)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=workspace,
                                capture_output=True, text=True, check=True).stdout
        assert ".hie-cache" not in status and "spec.hie" in status
