"""The daemon end to end: its answers equal standalone runs, it never leaves a client without a result,
and nobody else can talk to it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hie_tasks.daemon import protocol
from tests.watch.conftest import write_tree

from .conftest import REPO, Daemon, json_of

SPEC = """\
import files

element app:
    scope src = files.folder_selector('src')
    scope code = files.glob_selector('src/*.py')
    check files.exists(src, 'a.py')
    check files.exists(src, 'b.py')
    check files.max_size(code, 40)
    element pkg:
        scope p = files.folder_selector('src/pkg')
        check files.exists(p, 'c.py')
"""

FILES = {
    "src/a.py": "a = 1\n",
    "src/b.py": "b = 1\n",
    "src/pkg/c.py": "c = 1\n",
    "hielements.toml": "# configuration\n",
    "hielements.hie": SPEC,
}

DaemonFactory = Callable[[Path], Daemon]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    write_tree(ws, FILES)
    return ws


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


#: (what the step does, the edit, whether the daemon serves the run that follows: all but a broken spec or config)
STEPS: list[tuple[str, Callable[[Path], object], bool]] = [
    ("nothing changed", lambda ws: None, True),
    ("nothing changed again", lambda ws: None, True),
    ("edit a file", lambda ws: (ws / "src/a.py").write_text("a = 2\n"), True),
    ("grow a file past a limit", lambda ws: (ws / "src/a.py").write_text("a = 2\n" * 20), True),
    ("add a file", lambda ws: (ws / "src/new.py").write_text("n = 1\n"), True),
    ("delete a file", lambda ws: (ws / "src/b.py").unlink(), True),
    ("rename a file", lambda ws: (ws / "src/new.py").rename(ws / "src/b.py"), True),
    # With src/pkg gone its scope is empty (warning W010); renamed back, the warning must be gone again.
    ("rename a directory", lambda ws: (ws / "src/pkg").rename(ws / "src/pkg2"), True),
    ("rename it back", lambda ws: (ws / "src/pkg2").rename(ws / "src/pkg"), True),
    ("add a folder of files", lambda ws: write_tree(ws, {"src/sub/d.py": "d = 1\n", "src/sub/e.py": "e\n" * 30}), True),
    ("replace a file by a directory", lambda ws: ((ws / "src/b.py").unlink(), (ws / "src/b.py").mkdir(),
                                                   (ws / "src/b.py/inner.py").write_text("i = 1\n")), True),
    ("delete a folder", lambda ws: shutil.rmtree(ws / "src/sub"), True),
    ("and the directory back to a file", lambda ws: (shutil.rmtree(ws / "src/b.py"),
                                                     (ws / "src/b.py").write_text("b = 1\n")), True),
    ("edit the spec", lambda ws: _append(ws / "hielements.hie", "    check files.exists(src, 'new.py')\n"), True),
    ("edit the config", lambda ws: _append(ws / "hielements.toml", "# edited\n"), True),
    ("a config that warns", lambda ws: _append(ws / "hielements.toml",
                                               '[libraries."not-a-name"]\nexecutable = "/bin/true"\n'), True),
    ("break the spec", lambda ws: _append(ws / "hielements.hie", "element broken(\n"), False),
    ("fix the spec", lambda ws: (ws / "hielements.hie").write_text(SPEC), True),
    ("break the config", lambda ws: _append(ws / "hielements.toml", "[libraries\n"), False),
    ("fix the config", lambda ws: (ws / "hielements.toml").write_text("# configuration\n"), True),
    ("a file touched, same contents", lambda ws: os.utime(ws / "src/b.py"), True),
]


def test_daemon_and_standalone_give_the_same_json_across_edits(
    workspace: Path, tmp_path: Path, daemon_factory: DaemonFactory
) -> None:
    d = daemon_factory(workspace)
    d.start()
    for what, edit, served in STEPS:
        edit(workspace)
        # The reference: a standalone run from the very store the daemon answers from.
        reference_store = d.snapshot_store(tmp_path / "reference-store")
        before = d.served()
        warm = d.cli("run", "-f", "json")
        cold = d.cli("run", "-f", "json", "--cache-dir", str(reference_store), standalone=True)
        assert d.served() == before + served, (what, d.status()["last_declined"])
        assert (warm.code, warm.err) == (cold.code, cold.err), what
        assert warm.out and cold.out, what
        if served:
            assert json_of(warm) == json_of(cold), what
        else:
            # Declined: the client ran standalone after the daemon's catch-up cycle recorded verdicts in
            # the store, so it replays what the reference (an older copy of the store) reruns.
            assert _uncached(json_of(warm)) == _uncached(json_of(cold)), what


def _uncached(doc: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    for result in doc.get("results", []):
        result.pop("cached", None)
    doc.get("summary", {}).pop("cached", None)
    doc.get("summary", {}).pop("cached_remote", None)
    return doc


def test_human_output_is_the_same_bytes(workspace: Path, tmp_path: Path, daemon_factory: DaemonFactory) -> None:
    d = daemon_factory(workspace)
    d.start()
    (workspace / "src/b.py").unlink()
    reference_store = d.snapshot_store(tmp_path / "reference-store")
    warm = d.cli("run")
    cold = d.cli("run", "--cache-dir", str(reference_store), standalone=True)
    assert d.served() == 1
    # Durations are the only difference allowed; this small run prints none but the cache line.
    def without_times(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("Cache:")]
    assert without_times(warm.out) == without_times(cold.out) and "FAIL" in warm.out
    assert (warm.code, warm.err) == (cold.code, cold.err)


def test_options_the_daemon_does_not_keep_warm_run_standalone(workspace: Path, daemon_factory: DaemonFactory) -> None:
    d = daemon_factory(workspace)
    d.start()
    for args in (["--no-cache"], ["--filter", "pkg"], ["--limit", "1"], ["--refresh"]):
        ran = d.cli("run", "-f", "json", *args)
        assert ran.out, (args, ran.err)
    assert d.served() == 0
    # Another environment may mean other plugins, keys or caches: a different daemon, so standalone.
    other_env = d.env
    d.env = {**other_env, "SOME_PLUGIN_SETTING": "1"}
    assert d.cli("run", "-f", "json").code == 0
    d.env = other_env
    assert d.served() == 0
    assert d.cli("run", "-f", "json").code == 0
    assert d.served() == 1


def test_killing_the_daemon_mid_request_leaves_the_client_a_standalone_result(
    workspace: Path, tmp_path: Path, daemon_factory: DaemonFactory
) -> None:
    plugin = Path(__file__).resolve().parent / "slow_plugin.py"
    (workspace / "hielements.toml").write_text(
        f'[libraries.slow]\nexecutable = "{sys.executable}"\nargs = ["{plugin}"]\ntimeout_ms = 300000\n')
    (workspace / "hielements.hie").write_text(SPEC + "    check slow.stall_once(src)\n")
    d = daemon_factory(workspace)
    d.start()
    expected = d.cli("run", "-f", "json", "--no-cache")
    assert d.served() == 0
    (workspace / "arm").write_text("")
    (workspace / "src/a.py").write_text("a = 3\n")  # the plugin's check must run again: it stalls
    proc = subprocess.Popen([sys.executable, "-m", "hie_tasks", "run", "-f", "json"], cwd=workspace, env=d.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (workspace / "in-flight").exists():
        assert time.monotonic() < deadline, "the daemon never ran the stalling check"
        assert proc.poll() is None
        time.sleep(0.02)
    assert d.pid is not None
    os.kill(d.pid, 9)
    out, err = proc.communicate(timeout=120)
    assert err == ""
    assert proc.returncode == expected.code
    got = json.loads(out)
    want = json.loads(expected.out)
    assert [(r["element"], r["check"], r["status"], r["message"]) for r in got["results"]] == [
        (r["element"], r["check"], r["status"], r["message"]) for r in want["results"]]
    # The dead daemon's socket is found dead and ignored by the next run as well.
    assert d.cli("run", "-f", "json").code == expected.code


def test_the_socket_is_private(workspace: Path, runtime: Path, daemon_factory: DaemonFactory) -> None:
    d = daemon_factory(workspace)
    d.start()
    status = d.status()
    sock = Path(status["socket"])
    directory = sock.parent
    assert directory == runtime / "hie-tasks"
    dir_st, sock_st = os.lstat(directory), os.lstat(sock)
    assert stat.S_ISDIR(dir_st.st_mode) and stat.S_IMODE(dir_st.st_mode) == 0o700
    assert stat.S_ISSOCK(sock_st.st_mode) and stat.S_IMODE(sock_st.st_mode) == 0o600
    assert dir_st.st_uid == sock_st.st_uid == os.getuid()
    # A directory others can enter is never trusted: the client runs standalone, start refuses.
    before = d.served()
    directory.chmod(0o755)
    try:
        assert d.cli("run", "-f", "json").code == 0
        with pytest.raises(protocol.ProtocolError, match="mode 755"):
            protocol.check_private_dir(str(directory))
        refused = d.cli("daemon", "start")
        assert refused.code == 2 and "cannot be trusted" in refused.err
    finally:
        directory.chmod(0o700)
    assert d.served() == before
    # Nor is one owned by someone else (root can hand a directory to another uid; others cannot test this).
    if os.getuid() == 0:
        foreign = runtime / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 4242, 4242)
        with pytest.raises(protocol.ProtocolError, match="belongs to uid 4242"):
            protocol.connect(str(foreign / "x.sock"), 1.0)


def _as_other_user(uid: int, cwd: str, attempt: Callable[[], str]) -> str:
    """`attempt()` in a forked child running as `uid` from `cwd` (entered while still root, so only `cwd`'s
    own permissions stand between it and a relative path; no interpreter to start: /root is not theirs)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(read_end)
            os.chdir(cwd)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.write(write_end, attempt().encode())
        except BaseException as exc:
            os.write(write_end, f"child failed: {exc!r}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        said = fh.read().decode()
    os.waitpid(pid, 0)
    return said


@pytest.mark.skipif(os.getuid() != 0, reason="only root can act as another user")
def test_another_user_can_neither_reach_the_socket_nor_be_answered(
    workspace: Path, runtime: Path, daemon_factory: DaemonFactory
) -> None:
    """A real other uid: the 0700 directory keeps it from the socket, and were the directory and the socket
    opened up, the daemon's peer check (SO_PEERCRED) still closes the connection without an answer."""
    import _socket
    import struct

    d = daemon_factory(workspace)
    d.start()
    sock_path = str(d.status()["socket"])
    directory = os.path.dirname(sock_path)
    request = {**protocol.hello(str(workspace), str(workspace / "hielements.hie"), "run"),
               "argv": ["run", "-f", "json"], "cwd": str(workspace), "env": dict(d.env), "stdout": {}, "stderr": {}}
    frame = json.dumps(request).encode()
    frame = struct.pack(">I", len(frame)) + frame

    def attempt() -> str:
        conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        conn.settimeout(20)
        try:
            conn.connect(os.path.basename(sock_path))
        except PermissionError:
            return "refused"
        try:  # the daemon checks the peer first and hangs up: the send itself may meet a closed socket
            conn.sendall(frame)
            answer = conn.recv(1 << 16)
        except (BrokenPipeError, ConnectionResetError):
            return "closed"
        return "closed" if answer == b"" else "answered " + answer[:200].decode(errors="replace")

    before = d.served()
    assert _as_other_user(4242, directory, attempt) == "refused"
    os.chmod(directory, 0o711)
    os.chmod(sock_path, 0o666)
    try:
        assert _as_other_user(4242, directory, attempt) == "closed"
    finally:
        os.chmod(sock_path, 0o600)
        os.chmod(directory, 0o700)
    # We, the owner, are still answered by the very same daemon.
    assert d.cli("run", "-f", "json").code == 0
    assert d.served() == before + 1


def test_a_daemon_of_another_version_is_ignored(workspace: Path, tmp_path: Path, daemon_factory: DaemonFactory
                                                ) -> None:
    """A real daemon from another installation (a copy of the package reporting another version)."""
    old = tmp_path / "old"
    (old / "hie_tasks").mkdir(parents=True)
    for source in (REPO / "hie_tasks").rglob("*.py"):
        target = old / source.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text())
    (old / "hie_tasks" / "py.typed").write_text("")
    (old / "hie_tasks" / "version.py").write_text('__version__ = "0.0.1-old"\n')
    d = daemon_factory(workspace)
    env = {**d.env, "PYTHONPATH": str(old)}
    log = tmp_path / "old-daemon.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "hie_tasks", "daemon", "serve"], cwd=workspace, env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
    try:
        sock = Path(protocol.socket_path(str(workspace), str(workspace / "hielements.hie")))
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        ran = d.cli("run", "-f", "json")
        cold = d.cli("run", "-f", "json", standalone=True)
        # Both ran here (the old daemon's verdicts carry its version in their fingerprints).
        assert ran.code == cold.code == 0
        assert [(r["check"], r["status"]) for r in json_of(ran)["results"]] == [
            (r["check"], r["status"]) for r in json_of(cold)["results"]]
        assert "stale request (run): another hie-tasks version" in log.read_text()
        assert "served" not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(30)


def test_watch_answers_runs_like_a_daemon(workspace: Path, tmp_path: Path, daemon_factory: DaemonFactory) -> None:
    d = daemon_factory(workspace)
    proc = subprocess.Popen([sys.executable, "-m", "hie_tasks", "watch", "-f", "json"], cwd=workspace, env=d.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["cycle"] == 0
        deadline = time.monotonic() + 30
        while client_status(d) is None:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        (workspace / "src/b.py").unlink()
        json.loads(proc.stdout.readline())  # watch's own cycle for the deletion
        reference_store = d.snapshot_store(tmp_path / "reference-store")
        warm = d.cli("run", "-f", "json")
        cold = d.cli("run", "-f", "json", "--cache-dir", str(reference_store), standalone=True)
        assert d.served() == 1
        assert warm.code == cold.code == 1 and json_of(warm) == json_of(cold)
    finally:
        proc.send_signal(2)
        proc.wait(30)


def client_status(d: Daemon) -> object:
    from hie_tasks.daemon import client

    return client.request(str(d.workspace), str(d.workspace / "hielements.hie"), "status", timeout=5)


def test_inputs_outside_the_workspace_are_confirmed_by_stat(
    workspace: Path, tmp_path: Path, daemon_factory: DaemonFactory
) -> None:
    """No recursive watch covers a folder beside the workspace: the daemon compares its stat signatures."""
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "present.txt").write_text("p\n")
    (workspace / "hielements.hie").write_text(
        SPEC + "\nelement shared:\n    scope s = files.folder_selector('../shared')\n"
        "    check files.exists(s, 'later.txt')\n    check files.max_size(s, 10)\n")
    d = daemon_factory(workspace)
    d.start()
    for edit in (lambda: (outside / "later.txt").write_text("l\n"),
                 lambda: (outside / "present.txt").write_text("p" * 50),
                 lambda: (outside / "later.txt").unlink()):
        edit()
        reference_store = d.snapshot_store(tmp_path / "reference-store")
        before = d.served()
        warm = d.cli("run", "-f", "json")
        cold = d.cli("run", "-f", "json", "--cache-dir", str(reference_store), standalone=True)
        assert d.served() == before + 1
        got, want = json_of(warm), json_of(cold)
        assert [(r["check"], r["status"], r["cached"]) for r in got["results"]] == [
            (r["check"], r["status"], r["cached"]) for r in want["results"]]
        assert warm.code == cold.code and got == want


def _store_descriptors(pid: int) -> int:
    found = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found += "results.sqlite" in os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            pass
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors through /proc")
def test_answering_opens_no_store_per_request(workspace: Path, daemon_factory: DaemonFactory) -> None:
    """A long-lived daemon answers thousands of runs: each answer uses the warm store, never a new one
    (one per request, left open, ran a daemon out of file descriptors)."""
    d = daemon_factory(workspace)
    d.start()
    assert d.pid is not None
    assert d.cli("run", "-f", "json").code == 0
    before = _store_descriptors(d.pid)
    for n in range(5):
        (workspace / "src/a.py").write_text(f"a = {n}\n")
        assert d.cli("run", "-f", "json").code == 0
        assert d.cli("run").code == 0
    assert d.served() == 11
    assert _store_descriptors(d.pid) == before


def test_a_configured_remote_cache_is_left_to_standalone_runs(workspace: Path, daemon_factory: DaemonFactory) -> None:
    """The daemon's cycles never ask a remote verdict cache: a run that would is not the daemon's to answer."""
    d = daemon_factory(workspace)
    d.env = {**d.env, "HIE_TASKS_REMOTE_CACHE": "grpc://127.0.0.1:1"}  # unreachable: runs go on without it
    d.start()
    warm = d.cli("run", "-f", "json")
    cold = d.cli("run", "-f", "json", standalone=True)
    assert d.served() == 0 and d.status()["last_declined"] == "a remote verdict cache is configured"
    assert (warm.code, warm.err) == (cold.code, cold.err)
    assert json_of(warm)["summary"]["total"] == json_of(cold)["summary"]["total"] == 4
