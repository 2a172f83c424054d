"""The run memo (hie_tasks/replay): a run whose inputs are all unchanged is answered from the previous run's
memo — byte for byte what the full run prints, durations aside — and every change a directory- or stat-level
shortcut could miss makes the run go the full way.

The real CLI in subprocesses on a real workspace. A memo is only written for inputs older than the racy
window (2 s), so each test ages its workspace once (`settle`) before the run that writes the memo.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kit import CLI_TIMEOUT_S, ROOT, RunResult, Workspace, on_a_terminal, parse_run

from hie_tasks.incremental.digests import RACY_WINDOW_NS


def settle() -> None:
    time.sleep(RACY_WINDOW_NS / 1e9 + 0.2)


def memos(project: Workspace) -> list[Path]:
    directory = project.store / "runs"
    return sorted(directory.glob("*.memo")) if directory.exists() else []


def run_count(project: Workspace) -> int:
    return len(project.store_rows("SELECT id FROM runs"))


def without_durations(report: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(report))
    data["summary"].pop("duration_ms")
    return data


def full(project: Workspace, *extra: str) -> RunResult:
    """The same run with the memo switched off: what the memo must agree with."""
    env = {**project.env(), "HIE_TASKS_RUN_MEMO": "0"}
    proc = subprocess.run(project.argv("run", *extra), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S)
    return parse_run(proc.returncode, proc.stdout, proc.stderr)


def served(project: Workspace) -> RunResult:
    """A run that must be answered by the memo: no run recorded in the store, the full run's report."""
    before = run_count(project)
    result = project.run()
    assert run_count(project) == before, "the run was not answered by the memo"
    truth = full(project)
    assert result.returncode == truth.returncode
    assert without_durations(result.report) == without_durations(truth.report)
    assert result.stderr == truth.stderr
    return result


def not_served(project: Workspace) -> RunResult:
    before = run_count(project)
    result = project.run()
    assert run_count(project) == before + 1, "the memo answered a run whose inputs changed"
    return result


@pytest.fixture
def memoized(project: Workspace) -> Workspace:
    settle()
    cold = project.run()
    assert memos(project), cold.stderr
    return project


def test_a_noop_is_answered_by_the_memo_exactly_as_the_full_run(memoized: Workspace) -> None:
    result = served(memoized)
    assert result.replayed() == {r["element"] for r in result.results}
    assert result.report["summary"]["duration_ms"] < 60_000  # this run's own time, not the sentinel
    calls = len(memoized.calls())
    served(memoized)
    assert len(memoized.calls()) == calls, "a served run started the external plugin"


def test_a_same_size_rewrite_with_the_old_mtime_is_seen(memoized: Workspace) -> None:
    path = memoized.ws / "src/core/a.py"
    old = path.stat()
    path.write_text("A = 7\n")  # same size
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))  # and the same mtime: only ctime tells
    result = not_served(memoized)
    assert {"core", "core_wasm", "python_files"} <= result.rerun()


def test_a_file_replaced_by_a_directory_is_seen(memoized: Workspace) -> None:
    target = memoized.ws / "src/util/c.py"
    target.unlink()
    target.mkdir()
    (target / "inner.txt").write_text("x\n")
    result = not_served(memoized)
    assert "util" in result.rerun()


def test_a_retargeted_symlink_is_seen(project: Workspace) -> None:
    (project.ws / "real").mkdir()
    (project.ws / "real/one.md").write_text("# one\n")
    (project.ws / "real/two.md").write_text("# two, longer\n")
    (project.ws / "README.md").unlink()
    (project.ws / "README.md").symlink_to(project.ws / "real/one.md")
    settle()
    project.run()
    assert memos(project)
    served(project)
    link = project.ws / "README.md"
    link.unlink()
    link.symlink_to(project.ws / "real/two.md")
    result = not_served(project)
    assert "readme" in result.rerun()


def test_a_file_moved_between_scoped_folders_is_seen(memoized: Workspace) -> None:
    (memoized.ws / "src/core/b.py").rename(memoized.ws / "src/util/b.py")
    result = not_served(memoized)
    assert {"core", "util"} <= result.rerun()


def test_spec_config_and_plugin_edits_are_seen(memoized: Workspace) -> None:
    spec = memoized.ws / "spec.hie"
    spec.write_text(spec.read_text() + "element extra:\n    scope f = files.file_selector('README.md')\n"
                    "    check files.exists(f, 'README.md')\n")
    assert "extra" in {r["element"] for r in not_served(memoized).results}
    memoized.configure(capabilities='fs = "none"')
    assert {"core_wasm", "settings"} <= not_served(memoized).rerun()
    memoized.set_probe('{"Fail": "changed"}')
    result = not_served(memoized)
    assert result.status_of("settings") == "fail"


def test_the_memo_written_after_a_change_answers_the_next_noop(memoized: Workspace) -> None:
    memoized.write("src/core/new.py", "N = 1\n")
    settle()
    changed = not_served(memoized)
    assert "core" in changed.rerun()
    result = served(memoized)
    assert "core" in result.replayed()


def test_a_deleted_store_is_not_vouched_for_by_its_memo(memoized: Workspace) -> None:
    for name in ("results.sqlite", "results.sqlite-wal", "results.sqlite-shm"):
        (memoized.store / name).unlink(missing_ok=True)
    result = memoized.run()
    assert result.rerun() == {r["element"] for r in result.results}


def test_a_forged_memo_is_ignored_with_a_warning_and_rewritten(memoized: Workspace) -> None:
    memo = memos(memoized)[0]
    data = bytearray(memo.read_bytes())
    data[-10] ^= 0xFF
    memo.write_bytes(bytes(data))
    before = run_count(memoized)
    result = memoized.run()
    assert "ignoring the run memo" in result.stderr and "not signed" in result.stderr
    assert run_count(memoized) == before + 1
    assert result.verdicts() == full(memoized).verdicts()
    served(memoized)  # the full run wrote a good one


def test_a_memo_moved_to_another_requests_name_is_ignored(memoized: Workspace) -> None:
    (json_memo,) = memos(memoized)
    memoized.run("-j", "1")  # another command line: a memo of its own
    (other,) = [path for path in memos(memoized) if path != json_memo]
    shutil.copy(json_memo, other)
    before = run_count(memoized)
    result = memoized.run("-j", "1")
    assert "ignoring the run memo" in result.stderr
    assert run_count(memoized) == before + 1
    assert result.verdicts() == full(memoized).verdicts()


def test_no_memo_while_inputs_are_inside_the_racy_window(project: Workspace) -> None:
    project.run()
    assert not memos(project)
    project.run()
    assert not memos(project), "files written a moment ago must not be vouched for by their stat"


def test_a_verbose_run_is_never_answered_by_the_memo(memoized: Workspace) -> None:
    before = run_count(memoized)
    result = memoized.run("-v")
    assert run_count(memoized) == before + 1
    assert "workspace:" in result.stderr


def test_an_error_verdict_keeps_the_run_from_being_memoized(memoized: Workspace) -> None:
    memoized.set_probe('{"Error": "broken"}')
    settle()
    result = memoized.run()
    assert result.status_of("settings") == "error"
    assert not memos(memoized), "a run whose next run reruns a check must not leave a memo"
    not_served(memoized)


def test_human_output_is_answered_byte_for_byte(memoized: Workspace) -> None:
    def human(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        argv = [a for a in memoized.argv("run") if a not in ("-f", "json")]
        return subprocess.run(argv, cwd=ROOT, env={**memoized.env(), **env_extra}, capture_output=True,
                              text=True, timeout=CLI_TIMEOUT_S)

    human({})  # writes the human request's memo
    before = run_count(memoized)
    answered = human({})
    assert run_count(memoized) == before
    truth = human({"HIE_TASKS_RUN_MEMO": "0"})

    def masked(text: str) -> str:
        return re.sub(r"\(\d+\.\d\d s\)", "(T s)", text)

    assert "Summary:" in answered.stdout
    assert masked(answered.stdout) == masked(truth.stdout)
    assert answered.stderr == truth.stderr
    assert answered.returncode == truth.returncode


def test_a_file_saved_just_before_the_run_is_vouched_for_by_its_content(memoized: Workspace) -> None:
    path = memoized.ws / "src/core/a.py"
    path.write_text("A = 5\n")  # within the racy window of the next run: its stat cannot vouch for it
    assert "core" in not_served(memoized).rerun()
    result = served(memoized)  # its digest can
    assert "core" in result.replayed()
    old = path.stat()
    path.write_text("A = 6\n")
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert "core" in not_served(memoized).rerun()


def test_a_terminal_gets_the_same_coloured_answer(memoized: Workspace) -> None:
    on_a_terminal(memoized, {})
    before = run_count(memoized)
    answered = on_a_terminal(memoized, {})
    assert run_count(memoized) == before
    truth = on_a_terminal(memoized, {"HIE_TASKS_RUN_MEMO": "0"})
    assert b"\x1b[" in truth, "rich did not colour the terminal"

    def masked(data: bytes) -> bytes:
        return re.sub(rb"\(\d+\.\d\d s\)", b"(T s)", data)

    assert masked(answered) == masked(truth)


def test_a_reader_that_goes_away_gets_no_traceback(memoized: Workspace) -> None:
    # `hie-tasks run | head -1`: the answer is larger than a pipe buffer only with padding, so close at once.
    proc = subprocess.Popen(memoized.argv("run"), cwd=ROOT, env=memoized.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=CLI_TIMEOUT_S)
    assert "Traceback" not in err, err


def test_a_store_keeps_only_the_most_recent_memos(memoized: Workspace) -> None:
    from hie_tasks.replay.memo import KEEP

    (first,) = memos(memoized)
    for jobs in range(1, KEEP + 2):  # each -j N is a command line of its own, with a memo of its own
        memoized.run("-j", str(jobs))
    kept = memos(memoized)
    assert len(kept) == KEEP
    assert first not in kept, "the oldest memo goes first"
