"""The run memo's partial rerun (hie_tasks/replay/partial.py): after a few files were edited in place, a
`-f json` run reruns exactly the checks whose verdicts rest on them and answers the rest from the memo —
byte for byte what the full run prints, durations aside, with the same exit code, stderr and store.

The real CLI in subprocesses on a real workspace; every answer is compared with the same run made the full
way (`HIE_TASKS_RUN_MEMO=0`) from a copy of the same store. Which checks a run evaluated is read from the
store: with the reason rows cleared first (`forget_reasons`), a full run writes one for every check it looked
up, a partial rerun only for the checks it reran.
"""

from __future__ import annotations

import json
import marshal
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from kit import CLI_TIMEOUT_S, ROOT, Workspace, on_a_terminal
from test_run_memo import memos, settle

SPEC = """\
element core:
    scope src = files.folder_selector('src/core')
    check files.max_size(src, 100000)
    check files.exists(src, 'a.txt')
element util:
    scope src = files.folder_selector('src/util')
    check files.max_size(src, 64)
element texts:
    scope txt = files.glob_selector('src/**/*.txt')
    check files.contains(txt, 'a.txt')
element docs:
    scope d = files.folder_selector('docs')
    check files.exists(d, 'guide.md')
element settings:
    scope f = files.file_selector('config/settings.toml')
    check probe.verdict(f)
element readme:
    scope f = files.file_selector('README.md')
    check files.exists(f, 'README.md')
element helpers:
    scope fns = python.function_selector('helper')
    check files.max_size(fns, 100000)
"""

FILES = {
    "src/core/a.txt": "A = 1\n",
    "src/core/b.txt": "B = 2\n",
    "src/util/c.txt": "C = 3\n",
    "docs/guide.md": "# Guide\n",
    "lib/h.py": "def helper():\n    return 1\n",
    "lib/other.py": "X = 1\n",
    "README.md": "# Project\n",
    "config/settings.toml": "level = 1\n",
}

CHECKS = ["core#0", "core#1", "util#0", "texts#0", "docs#0", "settings#0", "readme#0", "helpers#0"]


@pytest.fixture
def ws(tmp_path: Path, module_cache: Path) -> Workspace:
    project = Workspace(tmp_path, module_cache, spec=SPEC, files=FILES)
    settle()
    cold = project.run()
    assert cold.returncode == 0, cold.stderr
    assert memos(project), cold.stderr
    return project


def _masked(text: str) -> str:
    text = re.sub(r'"duration_ms": [0-9.e+-]+', '"duration_ms": D', text)
    return re.sub(r"\(\d+\.\d\d s\)", "(T s)", text)  # human output's durations


def _run(project: Workspace, env_extra: dict[str, str] | None = None, human: bool = False
         ) -> subprocess.CompletedProcess[str]:
    argv = project.argv("run")
    if human:
        argv = [a for a in argv if a not in ("-f", "json")]
    return subprocess.run(argv, cwd=ROOT, env={**project.env(), **(env_extra or {})}, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT_S)


def _latest_run(project: Workspace) -> tuple[int, dict[str, int]]:
    run_id, counts = project.store_rows("SELECT id, counts FROM runs ORDER BY id DESC LIMIT 1")[0]
    return run_id, json.loads(counts)


def _looked_up(project: Workspace, run_id: int) -> set[str]:
    """The checks (element#index) a run wrote a reason row for."""
    rows = project.store_rows(f"SELECT key FROM last_reasons WHERE run_id = {run_id}")
    return {f"{json.loads(key)[1]}#{json.loads(key)[2]}" for (key,) in rows}


def rerun_and_compare(project: Workspace, human: bool = False,
                      runner: Callable[[], subprocess.CompletedProcess[str]] | None = None
                      ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """This run (`runner`, else `_run`), then the same run the full way from a copy of the store as it was
    before: both must print the same, exit alike and leave the same verdicts. Returns this run and the
    checks it evaluated."""
    forget_reasons(project)
    saved = project.store.parent / "store-before"
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(project.store, saved)
    result = runner() if runner is not None else _run(project, human=human)
    run_id, counts = _latest_run(project)
    evaluated = _looked_up(project, run_id)
    verdicts = _verdicts(project.store)
    after = project.store.parent / "store-after"
    shutil.rmtree(after, ignore_errors=True)
    shutil.move(project.store, after)
    shutil.copytree(saved, project.store)
    truth = _run(project, {"HIE_TASKS_RUN_MEMO": "0"}, human=human)
    assert _masked(result.stdout) == _masked(truth.stdout)
    assert result.stderr == truth.stderr
    assert result.returncode == truth.returncode
    assert _latest_run(project)[1] == counts, "the run's row in the store counts the whole run"
    assert _verdicts(project.store) == verdicts
    # Back to the store the run under test left, memo included.
    shutil.rmtree(project.store)
    shutil.move(after, project.store)
    return result, evaluated


def write_store(project: Workspace, sql: str) -> None:
    conn = sqlite3.connect(project.store / "results.sqlite")
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def forget_reasons(project: Workspace) -> None:
    """No reason rows: a full run then writes one for every check (it skips a replayed check whose row
    already says so), a partial rerun only for the checks it reran."""
    write_store(project, "DELETE FROM last_reasons")


def _verdicts(store: Path) -> dict[str, tuple[str, str, str | None]]:
    conn = sqlite3.connect(f"file:{store / 'results.sqlite'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT key, fingerprint, status, message FROM verdicts").fetchall()
    finally:
        conn.close()
    return {key: (fp, status, message) for key, fp, status, message in rows}


def served_by_memo(project: Workspace) -> None:
    before = len(project.store_rows("SELECT id FROM runs"))
    again = _run(project)
    assert len(project.store_rows("SELECT id FROM runs")) == before, "the next no-op was not answered by the memo"
    truth = _run(project, {"HIE_TASKS_RUN_MEMO": "0"})
    assert _masked(again.stdout) == _masked(truth.stdout)
    assert again.returncode == truth.returncode


def cached(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    report = json.loads(result.stdout)
    seen: dict[str, int] = {}
    out: dict[str, object] = {}
    for r in report["results"]:
        index = seen.get(r["element"], 0)
        seen[r["element"]] = index + 1
        out[f"{r['element']}#{index}"] = r["cached"]
    return out


def append(project: Workspace, rel: str, text: str) -> None:
    with open(project.ws / rel, "a", encoding="utf-8") as fh:  # in place: no directory changes
        fh.write(text)


def test_an_edit_reruns_exactly_the_checks_that_read_the_file(ws: Workspace) -> None:
    append(ws, "src/core/a.txt", "A2 = 1\n")
    result, evaluated = rerun_and_compare(ws)
    assert evaluated == {"core#0", "core#1", "texts#0"}
    states = cached(result)
    assert {k for k, v in states.items() if v is False} == {"core#0", "core#1", "texts#0"}
    assert all(states[k] == "local" for k in CHECKS if k not in evaluated)
    served_by_memo(ws)  # the memo it wrote answers the next no-op


def test_edits_in_two_folders_and_a_revert_to_the_stored_bytes(ws: Workspace) -> None:
    original = (ws.ws / "src/core/a.txt").read_text()
    append(ws, "src/core/a.txt", "A2 = 1\n")
    append(ws, "src/util/c.txt", "C2 = 1\n")
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == {"core#0", "core#1", "texts#0", "util#0"}
    settle()
    (ws.ws / "src/core/a.txt").write_text(original)  # back to what the cold run stored
    (ws.ws / "src/core/a.txt").write_text(original + "A3 = 1\n")
    (ws.ws / "src/core/a.txt").write_text(original)
    result, evaluated = rerun_and_compare(ws)
    assert evaluated == {"core#0", "core#1", "texts#0"}
    # Evaluated again, and answered from the store: the verdict recorded for this very content is still there.
    assert json.loads(result.stdout)["summary"]["cached"] >= 1
    served_by_memo(ws)


def test_a_failing_edit_and_its_fix(ws: Workspace) -> None:
    append(ws, "src/util/c.txt", "X" * 100 + "\n")
    result, evaluated = rerun_and_compare(ws)
    assert result.returncode == 1
    assert evaluated == {"util#0", "texts#0"}
    failed = [r for r in json.loads(result.stdout)["results"] if r["status"] == "fail"]
    assert [r["element"] for r in failed] == ["util"] and "exceeds maximum size" in failed[0]["message"]
    served_by_memo(ws)  # a failure is a verdict the next run replays
    (ws.ws / "src/util/c.txt").write_text("C = 4\n")
    result, evaluated = rerun_and_compare(ws)
    assert result.returncode == 0
    assert evaluated == {"util#0", "texts#0"}


def test_a_same_size_rewrite_with_the_old_mtime_is_rerun(ws: Workspace) -> None:
    path = ws.ws / "src/core/b.txt"
    old = path.stat()
    path.write_text("B = 7\n")
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))  # only the ctime tells
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == {"core#0", "core#1", "texts#0"}


def test_a_save_within_the_racy_window_is_vouched_for_by_content_next_time(ws: Workspace) -> None:
    append(ws, "docs/guide.md", "more\n")
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == {"docs#0"}
    served_by_memo(ws)  # the file is younger than the racy window: the memo keeps its digest
    path = ws.ws / "docs/guide.md"
    old = path.stat()
    path.write_text(path.read_text().replace("more", "MORE"))
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == {"docs#0"}


@pytest.mark.parametrize("rel", ["lib/other.py", "config/settings.toml", "README.md", "spec.hie", "hielements.toml"])
def test_an_edit_planning_or_a_plugin_depends_on_goes_the_full_way(ws: Workspace, rel: str) -> None:
    # A file a selector read (python.function_selector reads every .py; file_selector its file), a plugin
    # check's scope, the spec, the config: the full run plans again or runs the plugin, and evaluates every
    # check.
    append(ws, rel, "\n")
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == set(CHECKS)


def test_a_new_file_in_a_scoped_folder_goes_the_full_way(ws: Workspace) -> None:
    ws.write("src/core/new.txt", "N = 1\n")
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == set(CHECKS)


def test_a_forged_verdict_of_a_rerun_check_is_reported_after_the_answer(ws: Workspace) -> None:
    write_store(ws, "UPDATE verdicts SET status = 'fail', message = 'forged' WHERE key LIKE '%\"docs\"%'")
    append(ws, "docs/guide.md", "more\n")
    result, evaluated = rerun_and_compare(ws)
    assert evaluated == {"docs#0"}
    assert "did not verify" in result.stderr
    # A run that printed a warning leaves no memo for its request: the next one goes the full way.
    before = len(ws.store_rows("SELECT id FROM runs"))
    _run(ws)
    assert len(ws.store_rows("SELECT id FROM runs")) == before + 1


def test_a_human_run_reruns_only_the_edited_checks(ws: Workspace) -> None:
    _run(ws, human=True)  # the human request's memo
    append(ws, "src/core/a.txt", "A2 = 1\n")
    result, evaluated = rerun_and_compare(ws, human=True)
    assert evaluated == {"core#0", "core#1", "texts#0"}
    assert "PASS core :: files.max_size(src, 100000)\n" in result.stdout
    assert "Cache: 5 replayed, 3 ran" in result.stdout
    append(ws, "src/util/c.txt", "X" * 100 + "\n")
    result, evaluated = rerun_and_compare(ws, human=True)
    assert evaluated == {"util#0", "texts#0"}
    assert result.returncode == 1 and "FAIL util :: files.max_size(src, 64)" in result.stdout


def test_a_terminal_gets_the_coloured_answer_after_an_edit(ws: Workspace) -> None:
    on_a_terminal(ws, {})  # the terminal request's memo
    append(ws, "src/core/a.txt", "A2 = 1\n")
    forget_reasons(ws)
    saved = ws.store.parent / "store-before"
    shutil.copytree(ws.store, saved)
    answered = on_a_terminal(ws, {})
    evaluated = _looked_up(ws, _latest_run(ws)[0])
    shutil.rmtree(ws.store)
    shutil.copytree(saved, ws.store)
    truth = on_a_terminal(ws, {"HIE_TASKS_RUN_MEMO": "0"})
    assert b"\x1b[" in truth, "rich did not colour the terminal"
    assert evaluated == {"core#0", "core#1", "texts#0"}
    assert _masked_bytes(answered) == _masked_bytes(truth)


def _masked_bytes(data: bytes) -> bytes:
    return re.sub(rb"\(\d+\.\d\d s\)", b"(T s)", data)


def _pieces(partial: Path) -> tuple[int, list[tuple[int, int, str]]]:
    """Where the partial file's head ends, and each planned check's piece: (start, end, element)."""
    data = partial.read_bytes()
    size = int.from_bytes(data[:8], "little")
    ends = memoryview(marshal.loads(data[8:8 + size])[5]).cast("q")  # (format, byte order, …, ends, …)
    tail = 8 + size
    pieces, start = [], 0
    for end in ends:
        pieces.append((tail + start, tail + end, marshal.loads(data[tail + start:tail + end])[0]))
        start = end
    return tail, pieces


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["head", "piece", "cut", "swapped", "deleted"])
def test_a_damaged_partial_file_sends_the_run_the_full_way(ws: Workspace, damage: str) -> None:
    # The data beside the memo is bound to it by its head's digest, and the head names every planned check's
    # piece by its digest: a head edited (an owner list pointing elsewhere), the piece of a check the edit
    # reruns edited, the file cut short, swapped for another request's, or gone, it is not believed, and
    # the run evaluates every check.
    (partial,) = (ws.store / "runs").glob("*.partial")
    if damage == "head":
        _flip(partial, _pieces(partial)[0] // 2)
    elif damage == "piece":
        start, end, _element = next(p for p in _pieces(partial)[1] if p[2] == "core")
        _flip(partial, (start + end) // 2)
    elif damage == "cut":  # shorter than the head says, in the middle of a piece the rerun reads
        start, end, _element = next(p for p in _pieces(partial)[1] if p[2] == "core")
        partial.write_bytes(partial.read_bytes()[:(start + end) // 2])
    elif damage == "swapped":
        _run(ws, human=True)  # another request, with a partial file of its own
        (other,) = [p for p in (ws.store / "runs").glob("*.partial") if p != partial]
        shutil.copy(other, partial)
    else:
        partial.unlink()
    append(ws, "src/core/a.txt", "A2 = 1\n")
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == set(CHECKS)


@pytest.mark.parametrize("delta_max", [256, 0])
def test_a_damaged_piece_no_rerun_reads_is_not_believed_later_either(ws: Workspace, delta_max: int) -> None:
    # Editing the piece of a check the edit does not rerun changes nothing this run reads: the rerun goes
    # ahead, and its answer is the full run's. Whether its memo is a delta beside the old one or written
    # whole (a limit of 0), the piece stays as it was with the digest it was signed with: the edit that
    # needs it later goes the full way.
    (partial,) = (ws.store / "runs").glob("*.partial")
    start, end, _element = next(p for p in _pieces(partial)[1] if p[2] == "util")
    _flip(partial, (start + end) // 2)
    damaged = partial.read_bytes()
    append(ws, "src/core/a.txt", "A2 = 1\n")
    _result, evaluated = rerun_and_compare(ws, runner=lambda: _run_with_delta_max(ws, delta_max))
    assert evaluated == {"core#0", "core#1", "texts#0"}
    assert (partial.read_bytes() == damaged) == (delta_max > 0), "written whole only past the limit"
    append(ws, "src/util/c.txt", "C2 = 3\n")
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == set(CHECKS)


def _delta(project: Workspace) -> Path:
    return memos(project)[0].with_suffix(".delta")


def test_partial_reruns_write_a_delta_and_leave_the_memo_as_it_was(ws: Workspace) -> None:
    # Rewriting the whole memo costs as much as the workspace is big; a partial rerun writes what it changed.
    (memo_file,) = memos(ws)
    written = memo_file.read_bytes()
    for rel, expected in (("src/core/a.txt", {"core#0", "core#1", "texts#0"}), ("docs/guide.md", {"docs#0"}),
                          ("src/util/c.txt", {"util#0", "texts#0"})):
        append(ws, rel, "more = 1\n")
        _result, evaluated = rerun_and_compare(ws)
        assert evaluated == expected
        assert memo_file.read_bytes() == written
        assert _delta(ws).exists()
        served_by_memo(ws)  # memo and delta together answer the no-op, every edit so far in it
    ws.write("src/core/new.txt", "N = 1\n")  # a listing changed: the full way, and the memo written whole
    settle()  # (a directory changed within the racy window means no memo)
    _result, evaluated = rerun_and_compare(ws)
    assert evaluated == set(CHECKS)
    assert memo_file.read_bytes() != written
    assert not _delta(ws).exists()
    served_by_memo(ws)


@pytest.mark.parametrize("forgery", ["edited", "another request's"])
def test_a_forged_delta_is_reported_and_the_run_goes_the_full_way(ws: Workspace, forgery: str) -> None:
    append(ws, "src/core/a.txt", "A2 = 1\n")
    _run(ws)
    delta = _delta(ws)
    if forgery == "edited":
        tag, _, body = delta.read_bytes().partition(b"\n")
        # Say the forger marks a check as failing: any change breaks the MAC.
        delta.write_bytes(tag + b"\n" + body.replace(b"pass", b"fail", 1))
    else:
        # Signed by us, for the human request: its MAC covers that request's key, not this one's.
        (memo_file,) = memos(ws)
        _run(ws, human=True)
        append(ws, "docs/guide.md", "more\n")
        _run(ws, human=True)
        (other,) = [m for m in memos(ws) if m != memo_file]
        shutil.copy(other.with_suffix(".delta"), delta)
    forget_reasons(ws)
    result = _run(ws)
    assert "ignoring the run memo delta" in result.stderr and str(delta) in result.stderr
    assert _looked_up(ws, _latest_run(ws)[0]) == set(CHECKS)
    truth = _run(ws, {"HIE_TASKS_RUN_MEMO": "0"})
    assert _masked(result.stdout) == _masked(truth.stdout) and result.returncode == truth.returncode
    assert not delta.exists(), "the full run writes the memo whole, without the forged delta"
    served_by_memo(ws)


def test_a_delta_bound_to_an_older_memo_is_not_applied(ws: Workspace) -> None:
    # Signed for this request, but made over the memo before: applied, its byte ranges and file indices would
    # land on the wrong entries. The memo alone answers, as if there were no delta.
    append(ws, "src/core/a.txt", "A2 = 1\n")
    _run(ws)
    stray = _delta(ws).read_bytes()
    ws.write("src/core/new.txt", "N = 1\n")  # the full way: a new memo, its files one more
    settle()
    _run(ws)
    assert not _delta(ws).exists()
    _delta(ws).write_bytes(stray)
    served_by_memo(ws)
    assert _run(ws).stderr == ""


def _run_with_delta_max(project: Workspace, limit: int) -> subprocess.CompletedProcess[str]:
    """The same request as `_run` (`python -m hie_tasks run …`) with a delta allowed to cover only `limit`
    entries."""
    python, _m, package, *args = project.argv("run")
    code = ("import runpy, sys, hie_tasks.replay.memo as memo\n"
            f"memo.DELTA_MAX = {limit}\n"
            f"sys.argv = [{package!r}, *{args!r}]\n"
            f"runpy.run_module({package!r}, run_name='__main__', alter_sys=True)\n")
    return subprocess.run([python, "-c", code], cwd=ROOT, env=project.env(), capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S)


def test_a_delta_past_its_limit_is_folded_into_a_memo_written_whole(ws: Workspace) -> None:
    (memo_file,) = memos(ws)
    written = memo_file.read_bytes()
    append(ws, "docs/guide.md", "more\n")  # one file, one check: within a limit of 2
    _result, evaluated = rerun_and_compare(ws, runner=lambda: _run_with_delta_max(ws, 2))
    assert evaluated == {"docs#0"}
    assert memo_file.read_bytes() == written and _delta(ws).exists()
    served_by_memo(ws)
    append(ws, "src/util/c.txt", "C2 = 1\n")  # two more checks: past it
    _result, evaluated = rerun_and_compare(ws, runner=lambda: _run_with_delta_max(ws, 2))
    assert evaluated == {"util#0", "texts#0"}, "still a partial rerun"
    assert memo_file.read_bytes() != written and not _delta(ws).exists()
    served_by_memo(ws)  # the memo written whole holds both edits
