"""`run` through the real CLI: exit codes, the JSON/JUnit/GitHub/human formats and upstream's shapes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.cli.conftest import run_cli

EXPECTED = [
    ("orders", "files.exists(src, 'api.py')", "pass", None),
    ("orders", "files.exists(src, 'missing.py')", "fail", "File 'missing.py' does not exist in folder 'src/orders'"),
    ("orders", "python.imports(api, 'typing')", "pass", None),
    ("orders", "python.no_import(api, 'typing')", "fail", "Scope imports 'typing' but should not"),
    ("orders.storage", "files.max_size(src, 2.5)", "fail", None),
    ("orders.storage", "files.exists(nosuch, 'x')", "error", "Undefined identifier: nosuch"),
]


def test_json_shape_and_verdicts(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "-f", "json", "--no-cache")
    assert r.code == 1, r.err
    data = json.loads(r.out)
    assert data["version"] == "1.0" and data["status"] == "error"
    assert {k: data["summary"][k] for k in ("total", "passed", "failed", "errors")} == {
        "total": 6, "passed": 2, "failed": 3, "errors": 1,
    }
    got = [(x["element"], x["check"], x["status"], x["message"]) for x in data["results"]]
    for (element, check, status, message), want in zip(got, EXPECTED, strict=True):
        assert (element, check, status) == want[:3]
        if want[3] is not None:
            assert message == want[3]
    assert got[4][3] is not None and got[4][3].startswith("File '") and "exceeds maximum size" in got[4][3]
    first = data["results"][0]
    assert first["file"].endswith("spec.hie") and first["line"] == 7 and first["column"] == 5
    assert isinstance(first["duration_ms"], float) and first["cached"] is False


def test_exit_zero_when_all_pass(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("x")
    (tmp_path / "ok.hie").write_text("element e:\n    scope r = files.folder_selector('.')\n"
                                     "    check files.exists(r, 'README.md')\n")
    r = run_cli("run", str(tmp_path / "ok.hie"))
    assert r.code == 0, r.out + r.err
    assert "PASS e :: files.exists(r, 'README.md')" in r.out
    assert "Summary: 1 total, 1 passed, 0 failed, 0 errors" in r.out


def test_human_output_lines(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "--no-cache")
    lines = r.out.splitlines()
    assert "PASS orders :: files.exists(src, 'api.py')" in lines
    i = lines.index("FAIL orders :: files.exists(src, 'missing.py')")
    assert lines[i + 1] == "  --> File 'missing.py' does not exist in folder 'src/orders'"
    assert "Summary: 6 total, 2 passed, 3 failed, 1 errors" in lines


def test_junit_is_valid_xml_with_matching_counts(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    r = run_cli("run", str(workspace / "spec.hie"), "-f", "junit", "-o", str(out), "--no-cache")
    assert r.code == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "3", "1")
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 6
    failing = [c for c in cases if c.find("failure") is not None]
    assert failing[0].get("name") == "files.exists(src, 'missing.py')"
    assert failing[0].get("line") == "8"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"orders", "orders.storage"}
    assert suites["orders.storage"].get("errors") == "1"


def test_github_annotations(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "-f", "github", "--no-cache")
    annotations = [line for line in r.out.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 4
    assert annotations[0].startswith(f"::error file={workspace / 'spec.hie'},line=8,col=5,title=FAIL orders::")
    assert r.out.splitlines()[-1] == "Summary: 6 total, 2 passed, 3 failed, 1 errors"


def test_filter_and_limit(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "-f", "json", "--filter", "storage", "--no-cache")
    data = json.loads(r.out)
    assert [x["element"] for x in data["results"]] == ["orders.storage", "orders.storage"]
    assert data["summary"]["skipped"] == 4
    r = run_cli("run", str(workspace / "spec.hie"), "-f", "json", "--limit", "1", "--no-cache")
    data = json.loads(r.out)
    assert data["summary"]["total"] == 1 and data["summary"]["skipped"] == 5 and r.code == 0


def test_dry_run_lists_without_running(workspace: Path) -> None:
    r = run_cli("run", str(workspace / "spec.hie"), "--dry-run")
    assert r.code == 0
    assert "element orders.storage" in r.out
    assert "  scope src = files.folder_selector('src/orders')" in r.out
    assert "  check files.exists(nosuch, 'x')" in r.out
    assert not (workspace / ".hie-cache").exists()


def test_unreadable_spec_is_exit_2(tmp_path: Path) -> None:
    r = run_cli("run", str(tmp_path / "nope.hie"))
    assert r.code == 2
    assert "nope.hie" in r.err and "Traceback" not in r.err


def test_invalid_spec_is_exit_1_and_runs_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.hie").write_text("element e:\n    scope s files.folder_selector('.')\n")
    r = run_cli("run", str(tmp_path / "bad.hie"))
    assert r.code == 1
    assert "bad.hie:2:" in r.err and "no checks were run" in r.err


def test_bad_config_is_exit_2_with_named_key(tmp_path: Path) -> None:
    (tmp_path / "hielements.toml").write_text('[libraries.mylib]\nexecutable = "python3"\nargs = "x"\n')
    (tmp_path / "s.hie").write_text("element e:\n    check files.exists(files.folder_selector('.'), 'x')\n")
    r = run_cli("run", str(tmp_path / "s.hie"))
    assert r.code == 2
    assert "mylib" in r.err and "args" in r.err and "Traceback" not in r.err


def test_spec_defaults_to_hielements_hie_in_cwd(tmp_path: Path) -> None:
    (tmp_path / "hielements.hie").write_text("element e:\n    check files.exists(files.folder_selector('.'), 'hielements.hie')\n")
    r = run_cli("check", cwd=tmp_path)
    assert r.code == 0, r.out + r.err
    assert "1 passed" in r.out


def test_json_run_that_passes_never_imports_rich(tmp_path: Path) -> None:
    """A passing `run -f json` (cold, then the no-op that replays it) has nothing to say on the terminal, so
    it must not pay for importing rich at start-up (the remote-cache hook used to import it unconditionally)."""
    import os
    import subprocess
    import sys

    from tests.cli.conftest import REPO

    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "a.py").write_text("x = 1\n")
    (ws / "spec.hie").write_text("element app:\n    scope src = files.folder_selector('src')\n"
                                 "    check files.exists(src, 'a.py')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "hie_tasks", "run", str(ws / "spec.hie"),
                               "-w", str(ws), "-f", "json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout)["summary"]["passed"] == 1
        imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                    if line.startswith("import time:")]
        assert "hie_tasks.engine.runner" in imported  # the hook works: the run's own modules are listed
        assert not [name for name in imported if name == "rich" or name.startswith("rich.")]
