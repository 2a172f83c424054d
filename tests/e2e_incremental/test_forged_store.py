"""The result store as an attacker hands it to us: edited rows, or a store signed under another key."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from kit import ALL_ELEMENTS, CLI_TIMEOUT_S, PROBE_ELEMENTS, ROOT, RunResult, Workspace, parse_run


def run_with_secret(project: Workspace, value: str) -> RunResult:
    env = {**project.env(), "HIE_TASKS_SECRET": value}
    proc = subprocess.run(project.argv("run"), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S)
    return parse_run(proc.returncode, proc.stdout, proc.stderr)


def test_verdict_edited_from_fail_to_pass_reruns_and_fails(project: Workspace) -> None:
    first = project.run()
    assert first.status_of("missing") == "fail"
    conn = sqlite3.connect(project.store / "results.sqlite")
    with conn:
        changed = conn.execute("UPDATE verdicts SET status = 'pass', message = NULL WHERE status = 'fail'").rowcount
    conn.close()
    assert changed == 1
    second = project.run()
    assert second.status_of("missing") == "fail"
    assert second.rerun() == {"missing"}
    assert second.stderr.count("stored result") == 1 and "1 stored result " in second.stderr
    # The rerun re-signed the row: the third run replays everything silently.
    third = project.run()
    assert third.rerun() == set() and "stored result" not in third.stderr


def test_store_from_another_secret_reruns_every_check(tmp_path: Path) -> None:
    # A module cache of its own: switching secrets also (rightly) rejects compiled modules.
    project = Workspace(tmp_path / "p", tmp_path / "modules")
    first = run_with_secret(project, "machine A")
    assert first.rerun() == ALL_ELEMENTS
    assert run_with_secret(project, "machine A").rerun() == set()
    other = run_with_secret(project, "machine B")
    assert other.rerun() == ALL_ELEMENTS
    assert other.verdicts() == first.verdicts()
    assert other.stderr.count("stored result") == 1 and f"{len(ALL_ELEMENTS)} stored results" in other.stderr
    assert "1 compiled-module cache entry" in other.stderr


def test_forged_mac_copied_from_another_row_does_not_verify(project: Workspace) -> None:
    """Copying a passing row's MAC onto the failing row is no help: the MAC covers the key."""
    project.run()
    conn = sqlite3.connect(project.store / "results.sqlite")
    with conn:
        good = conn.execute("SELECT key, mac FROM verdicts WHERE status = 'pass' LIMIT 1").fetchone()
        conn.execute("UPDATE verdicts SET status = 'pass', message = NULL, mac = ? WHERE status = 'fail'", (good[1],))
    conn.close()
    assert project.run().status_of("missing") == "fail"


def test_unsigned_rows_of_an_older_store_rerun(project: Workspace) -> None:
    project.run()
    conn = sqlite3.connect(project.store / "results.sqlite")
    with conn:
        conn.execute("UPDATE verdicts SET mac = NULL")
    conn.close()
    assert project.run().rerun() == ALL_ELEMENTS


def _run_with_home(project: Workspace, home: str) -> RunResult:
    env = {**project.env(), "HOME": home}
    proc = subprocess.run(project.argv("run"), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S)
    return parse_run(proc.returncode, proc.stdout, proc.stderr)


def test_granted_env_change_reruns_the_plugin_checks(project: Workspace, tmp_path: Path) -> None:
    project.configure(capabilities='fs = "read", env_access = ["HOME"]')
    one, two = tmp_path / "home1", tmp_path / "home2"
    assert _run_with_home(project, str(one)).rerun() == ALL_ELEMENTS
    assert _run_with_home(project, str(one)).rerun() == set()
    assert _run_with_home(project, str(two)).rerun() == PROBE_ELEMENTS
