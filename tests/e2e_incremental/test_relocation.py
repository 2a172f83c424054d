"""A checkout moved or copied to another path, with its result store, replays every verdict (issue 15)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kit import ALL_ELEMENTS, MAIN_SPEC, ROOT, Workspace, parse_run

#: A failing check whose message names an absolute path under the workspace: it must be re-rooted on replay.
SPEC = MAIN_SPEC + """\
element big:
    scope src = files.folder_selector('src/core')
    check files.max_size(src, 1)
"""


def human(ws: Path, store: Path, module_cache: Path, *extra: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "hie_tasks", "run", str(ws / "spec.hie"), "-w", str(ws), "--cache-dir", str(store),
         "--module-cache", str(module_cache), *extra],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=60,
    )
    return proc.stdout


def verdict_lines(text: str) -> list[str]:
    """The human report without the replay markers and timings (what must not depend on the cache)."""
    keep = [line.replace(" (cached)", "").rstrip() for line in text.splitlines()]
    return [line for line in keep if line.startswith(("PASS", "FAIL", "ERROR", "  -->", "Summary"))]


def test_a_moved_checkout_replays_everything_with_messages_rerooted(tmp_path: Path, module_cache: Path) -> None:
    project = Workspace(tmp_path / "a", module_cache, spec=SPEC)
    first = project.run()
    assert first.rerun() == ALL_ELEMENTS | {"big"}
    big = next(r["message"] for r in first.results if r["element"] == "big")
    assert str(project.ws) in big
    calls = project.calls()

    # Copy the whole checkout (result store inside it, as .hie-cache is by default) somewhere else.
    moved = tmp_path / "elsewhere" / "deeper" / "checkout"
    shutil.copytree(project.ws, moved)
    shutil.copytree(project.store, moved / ".hie-cache")
    store = moved / ".hie-cache"
    argv = [sys.executable, "-m", "hie_tasks", "run", str(moved / "spec.hie"), "-w", str(moved), "--cache-dir",
            str(store), "--module-cache", str(module_cache), "-f", "json"]
    proc = subprocess.run(argv, cwd=ROOT, env=project.env(), capture_output=True, text=True, timeout=60)
    replay = parse_run(proc.returncode, proc.stdout, proc.stderr)
    assert replay.replayed() == ALL_ELEMENTS | {"big"}, proc.stderr
    assert project.calls() == calls  # zero plugin calls, not even a start

    fresh = subprocess.run([*argv, "--no-cache"], cwd=ROOT, env=project.env(), capture_output=True, text=True,
                           timeout=60)
    fresh_run = parse_run(fresh.returncode, fresh.stdout, fresh.stderr)
    assert replay.verdicts() == fresh_run.verdicts()
    moved_big = next(r["message"] for r in replay.results if r["element"] == "big")
    assert str(moved) in moved_big and str(project.ws) not in moved_big

    # The human report too, line for line, apart from the "(cached)" markers.
    # (-v: a no-op's human report otherwise counts replayed passes instead of listing them)
    replayed_text = human(moved, store, module_cache, "-v")
    assert "(cached)" in replayed_text
    assert verdict_lines(replayed_text) == verdict_lines(human(moved, store, module_cache, "--no-cache", "-v"))

    # Relocated, and still exact: an edit at the new path reruns only the checks whose scope holds it.
    (moved / "docs" / "guide.md").write_text("# Guide, edited\n")
    proc = subprocess.run(argv, cwd=ROOT, env=project.env(), capture_output=True, text=True, timeout=60)
    assert parse_run(proc.returncode, proc.stdout, proc.stderr).rerun() == {"docs", "missing"}


def _run_in(cwd: Path, *args: str) -> dict[str, dict[str, object]]:
    import json

    proc = subprocess.run([sys.executable, "-m", "hie_tasks", "run", *args, "-f", "json"], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    return {r["check"]: r for r in json.loads(proc.stdout)["results"]}


def test_messages_follow_how_the_workspace_is_named_and_stay_relocatable(tmp_path: Path) -> None:
    """`files` messages spell paths from the workspace as given (upstream's `./src/a.py`); the spelling is an
    input, so naming the workspace differently reruns instead of replaying other words, and a relative
    spelling replays unchanged in a moved checkout."""
    ws = tmp_path / "a" / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "big.py").write_text("x" * 100)
    (ws / "spec.hie").write_text("element e:\n    scope s = files.folder_selector('src')\n"
                                 "    check files.max_size(s, 10)\n    check files.no_files_matching(s, '*.py')\n")
    size, match = "files.max_size(s, 10)", "files.no_files_matching(s, '*.py')"
    first = _run_in(ws, "spec.hie")
    assert first[size]["message"] == "File './src/big.py' exceeds maximum size (100 > 10 bytes)"
    assert first[match]["message"] == "Found 1 files matching pattern '*.py': [\"src/big.py\"]"
    assert _run_in(ws, "spec.hie")[size]["cached"] == "local"
    absolute = _run_in(ws, "spec.hie", "-w", str(ws))
    assert absolute[size]["cached"] is False
    assert absolute[size]["message"] == f"File '{ws}/src/big.py' exceeds maximum size (100 > 10 bytes)"
    from_parent = _run_in(ws.parent, "ws/spec.hie")
    assert from_parent[size]["message"] == "File 'ws/src/big.py' exceeds maximum size (100 > 10 bytes)"
    assert from_parent[size]["cached"] is False
    # One verdict is kept per check, so coming back to the first naming reruns once, then replays.
    assert _run_in(ws, "spec.hie")[size]["message"] == first[size]["message"]
    again = _run_in(ws, "spec.hie")
    assert again[size]["cached"] == "local" and again[size]["message"] == first[size]["message"]

    moved = tmp_path / "b" / "elsewhere" / "ws"
    shutil.copytree(ws, moved)
    replay = _run_in(moved, "spec.hie")
    assert replay[size]["cached"] == "local" and replay[match]["cached"] == "local"
    assert replay[size]["message"] == first[size]["message"]
