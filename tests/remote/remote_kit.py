"""A real BuildGrid server for the remote-cache tests, and checkouts of one workspace at different paths.

BuildGrid 0.9 needs Python >= 3.13, so it lives in its own virtualenv: `$HIE_TASKS_BUILDGRID` (the `bgd`
program), else `~/.cache/hie-tasks-ci/buildgrid/bin/bgd` (where `.ci/run` installs it), else `bgd` on PATH.
Without one, or without grpcio/protobuf in this environment, every test here is skipped with the reason.
The server listens on a free port on 127.0.0.1 and is stopped by its PID. Tests share one server but each
gets an instance of its own (separate storage), so no test sees another's entries.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = Path(__file__).resolve().parent / "plugin.py"
INSTANCES = 12
_counter = itertools.count()


def next_instance() -> int:
    return next(_counter)


def find_bgd() -> str | None:
    for candidate in (os.environ.get("HIE_TASKS_BUILDGRID"),
                      os.path.expanduser("~/.cache/hie-tasks-ci/buildgrid/bin/bgd"), shutil.which("bgd")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _skip_reason() -> str | None:
    try:
        import grpc  # noqa: F401

        from hie_tasks.remote import cache  # noqa: F401
    except Exception as exc:
        return f"grpcio/protobuf not usable here ({exc}); pip install 'hie-tasks[remote]'"
    if find_bgd() is None:
        return ("no BuildGrid: set $HIE_TASKS_BUILDGRID to its bgd, or create ~/.cache/hie-tasks-ci/buildgrid "
                "(a Python >= 3.13 venv with pip install 'buildgrid>=0.9,<0.10'; .ci/run does this)")
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_config(port: int, instances: int) -> str:
    lines = ["thread-pool-size: 16", "maximum-concurrent-rpcs: 2000", "server:",
             f'  - !channel {{address: "127.0.0.1:{port}", insecure-mode: true}}', "storages:"]
    lines += [f"  - !lru-storage &s{i} {{size: 64MB}}" for i in range(instances)]
    lines.append("caches:")
    lines += [f"  - !lru-action-cache &ac{i} {{storage: *s{i}, max-cached-refs: 10000, allow-updates: true, "
              "cache-failed-actions: true}" for i in range(instances)]
    lines.append("instances:")
    for i in range(instances):
        lines += [f"  - name: t{i}", "    services:", f"      - !cas {{storage: *s{i}}}",
                  f"      - !bytestream {{storage: *s{i}}}", f"      - !action-cache {{cache: *ac{i}}}"]
    return "\n".join(lines) + "\n"


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


def start_server(tmp: Path, instances: int) -> Server:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    bgd = find_bgd()
    assert bgd is not None
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = tmp / "buildgrid.yml"
    config.write_text(server_config(port, instances))
    log = tmp / "buildgrid.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([bgd, "server", "start", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"BuildGrid exited early:\n{log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return Server(f"grpc://127.0.0.1:{port}", process, log)
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError(f"BuildGrid did not listen within 60 s:\n{log.read_text()}")


SPEC = """\
element core:
    scope src = files.folder_selector('src/core')
    check files.max_size(src, 1)
    check ext.count_at_least(src, 1)
element util:
    scope src = files.folder_selector('src/util')
    check ext.count_at_least(src, 1)
element docs:
    scope md = files.glob_selector('docs/*.md')
    check ext.count_at_least(md, 2)
element readme:
    scope f = files.file_selector('README.md')
    check files.exists(f, 'README.md')
"""

FILES = {
    "src/core/a.py": "A = 1\n",
    "src/core/b.py": "B = 2\n",
    "src/util/c.py": "C = 3\n",
    "docs/guide.md": "# Guide\n",
    "docs/api.md": "# API\n",
    "README.md": "# Project\n",
}


@dataclass
class Run:
    code: int
    report: dict[str, Any]
    stderr: str

    def cached(self) -> dict[str, Any]:
        """`cached` per (element, check): "local", "remote" or False."""
        return {(r["element"], r["check"]): r["cached"] for r in self.report["results"]}

    def verdicts(self) -> list[tuple[str, str, str, str | None]]:
        return [(r["element"], r["check"], r["status"], r["message"]) for r in self.report["results"]]

    def ran(self) -> set[tuple[str, str]]:
        return {k for k, v in self.cached().items() if v is False}

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("warning: remote cache")]


class Checkout:
    """One checkout of the test workspace at `root`, with its own result store inside it."""

    def __init__(self, root: Path, logs: Path, spec: str = SPEC, files: dict[str, str] | None = None) -> None:
        self.root = root
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        for rel, text in (FILES if files is None else files).items():
            self.write(rel, text)
        self.write("spec.hie", spec)
        self.write("hielements.toml",
                   # max_message_kb: the batch-limit test needs a verdict message above 4 MiB, kept whole
                   f'[libraries]\next = {{ executable = "{sys.executable}", args = ["{PLUGIN}", "{logs}"], '
                   'max_message_kb = 16384 }\n')

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def calls(self) -> list[str]:
        log = self.logs / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def argv(self, url: str, instance: str, *extra: str) -> list[str]:
        return [sys.executable, "-m", "hie_tasks", "run", str(self.root / "spec.hie"), "-w", str(self.root),
                "-f", "json", "--remote-cache", url, "--remote-instance", instance, *extra]

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIE_TASKS_REMOTE") and k != "CI"}
        return {**env, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **extra}

    def run(self, url: str, instance: str, *extra: str, **env: str) -> Run:
        proc = subprocess.run(self.argv(url, instance, *extra), cwd=ROOT, env=self.env(**env), capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr
        return Run(proc.returncode, json.loads(proc.stdout), proc.stderr)

    def human(self, url: str, instance: str, *extra: str, **env: str) -> str:
        argv = [a for a in self.argv(url, instance, *extra) if a not in ("-f", "json")]
        proc = subprocess.run(argv, cwd=ROOT, env=self.env(NO_COLOR="1", **env), capture_output=True, text=True,
                              timeout=120)
        return proc.stdout


