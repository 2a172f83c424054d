"""A real workspace on disk plus the real `hie-tasks` CLI run as a subprocess, for the incremental e2e tests.

Every run passes `-w`, `--cache-dir` and `--module-cache` explicitly, so nothing outside tmp_path is touched,
and asks for `-f json`; `RunResult` answers the questions the tests ask of that report.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = Path(__file__).resolve().parent / "counting_plugin.py"
CLI_TIMEOUT_S = 60

#: The default project: eight checks over folder, glob and file scopes, served by the built-in `files`
#: library, the external counting plugin (`ext`) and a WAT plugin (`probe`). `missing` fails on purpose.
MAIN_SPEC = """\
element core:
    scope src = files.folder_selector('src/core')
    check files.max_size(src, 100000)
element core_wasm:
    scope src = files.folder_selector('src/core')
    check probe.verdict(src)
element util:
    scope src = files.folder_selector('src/util')
    check ext.count_at_least(src, 1)
element python_files:
    scope pys = files.glob_selector('src/**/*.py')
    check files.contains(pys, 'a.py')
element docs:
    scope md = files.glob_selector('docs/*.md')
    check ext.count_at_least(md, 2)
element readme:
    scope f = files.file_selector('README.md')
    check files.exists(f, 'README.md')
element settings:
    scope f = files.file_selector('config/settings.toml')
    check probe.verdict(f)
element missing:
    scope d = files.folder_selector('docs')
    check files.exists(d, 'CHANGELOG.md')
"""

MAIN_FILES = {
    "src/core/a.py": "A = 1\n",
    "src/core/b.py": "B = 2\n",
    "src/util/c.py": "C = 3\n",
    "docs/guide.md": "# Guide\n",
    "docs/api.md": "# API\n",
    "docs/notes.txt": "not markdown\n",
    "README.md": "# Project\n",
    "config/settings.toml": "level = 1\n",
}

ALL_ELEMENTS = {"core", "core_wasm", "util", "python_files", "docs", "readme", "settings", "missing"}
PROBE_ELEMENTS = {"core_wasm", "settings"}


#: Ballast in the probe module: hashing more than 2 KiB releases the GIL, which is what lets parallel checks
#: interleave inside a plugin's identity computation (a race this size once exposed).
PROBE_BALLAST = 1024 * 1024


def probe_wat(answer: str) -> str:
    """A WASM plugin whose `library_check` answers `answer` (JSON) to every request."""
    data = answer.encode()
    escaped = "".join(f"\\{b:02x}" for b in data)
    ballast = "\\00" * PROBE_BALLAST
    return f"""(module
  (memory (export "memory") 20)
  (global $bump (mut i32) (i32.const 4096))
  (func (export "alloc") (param $n i32) (result i32)
    (local $p i32) (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n))) (local.get $p))
  (data (i32.const 16) "{escaped}")
  (data (i32.const 65536) "{ballast}")
  (func (export "library_check") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const {len(data)}))))"""


def project_config(logs: Path, capabilities: str = 'fs = "read"', limits: str = "") -> str:
    """hielements.toml: `ext` logs to `logs`; `probe` gets `capabilities` and the extra `limits` lines."""
    return f"""[libraries]
ext = {{ executable = "{sys.executable}", args = ["{PLUGIN}", "{logs}"] }}

[libraries.probe]
path = "plugins/probe.wasm"
capabilities = {{ {capabilities} }}
{limits}
"""


@dataclass
class RunResult:
    returncode: int
    report: dict[str, Any]
    stderr: str

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(self.report["results"])

    def rerun(self) -> set[str]:
        """Elements whose check actually ran (was not replayed)."""
        return {r["element"] for r in self.results if not r["cached"]}

    def replayed(self) -> set[str]:
        return {r["element"] for r in self.results if r["cached"]}

    def verdicts(self) -> list[tuple[str, str, str, str | None]]:
        """What a user sees, in report order; independent of caching and timing."""
        return [(r["element"], r["check"], r["status"], r["message"]) for r in self.results]

    def status_of(self, element: str) -> str:
        return next(str(r["status"]) for r in self.results if r["element"] == element)


class Workspace:
    """`tmp/ws` (the project), `tmp/store` (result store), `tmp/logs` (plugin call log)."""

    def __init__(self, tmp: Path, module_cache: Path, spec: str = MAIN_SPEC,
                 files: dict[str, str] | None = None) -> None:
        self.ws = tmp / "ws"
        self.store = tmp / "store"
        self.logs = tmp / "logs"
        self.module_cache = module_cache
        self.logs.mkdir(parents=True)
        for rel, text in (MAIN_FILES if files is None else files).items():
            self.write(rel, text)
        self.write("spec.hie", spec)
        self.configure()
        self.set_probe('{"Pass": null}')

    # -- editing the project -----------------------------------------------------------------------------

    def write(self, rel: str, text: str) -> None:
        path = self.ws / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def configure(self, capabilities: str = 'fs = "read"', limits: str = "") -> None:
        self.write("hielements.toml", project_config(self.logs, capabilities, limits))

    def set_probe(self, answer: str) -> None:
        path = self.ws / "plugins" / "probe.wasm"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wasmtime.wat2wasm(probe_wat(answer)))

    # -- running -----------------------------------------------------------------------------------------

    def argv(self, command: str = "run", *extra: str) -> list[str]:
        args = [sys.executable, "-m", "hie_tasks", command, str(self.ws / "spec.hie"), "-w", str(self.ws),
                "--cache-dir", str(self.store), "--module-cache", str(self.module_cache), "-f", "json"]
        return args + list(extra)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT)}

    def popen(self, *extra: str, new_session: bool = False) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv("run", *extra), cwd=ROOT, env=self.env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=new_session)

    def run(self, *extra: str) -> RunResult:
        proc = subprocess.run(self.argv("run", *extra), cwd=ROOT, env=self.env(), capture_output=True, text=True,
                              timeout=CLI_TIMEOUT_S)
        return parse_run(proc.returncode, proc.stdout, proc.stderr)

    def explain(self) -> dict[str, dict[str, Any]]:
        """`explain -f json`, keyed by element."""
        proc = subprocess.run(self.argv("explain"), cwd=ROOT, env=self.env(), capture_output=True, text=True,
                              timeout=CLI_TIMEOUT_S)
        assert proc.returncode == 0, proc.stderr
        return {e["element"]: e for e in json.loads(proc.stdout)["checks"]}

    # -- evidence ----------------------------------------------------------------------------------------

    def calls(self) -> list[str]:
        """Every line the external plugin logged so far (starts and checks)."""
        log = self.logs / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def store_rows(self, query: str) -> list[tuple[Any, ...]]:
        """Read the result store without writing to it (the tests must not disturb what they observe)."""
        conn = sqlite3.connect(f"file:{self.store / 'results.sqlite'}?mode=ro", uri=True)
        try:
            return list(conn.execute(query))
        finally:
            conn.close()

    def stored_elements(self) -> set[str]:
        """Elements with a recorded verdict (a verdict key is the JSON [spec file, element, index, text])."""
        return {json.loads(key)[1] for (key,) in self.store_rows("SELECT key FROM verdicts")}


def parse_run(returncode: int, stdout: str, stderr: str) -> RunResult:
    assert returncode in (0, 1), f"exit {returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    return RunResult(returncode, json.loads(stdout), stderr)


def on_a_terminal(project: Workspace, env_extra: dict[str, str]) -> bytes:
    """A human `run` with stdout on a pseudo-terminal (rich colours it): every byte written there."""
    import pty

    argv = [a for a in project.argv("run") if a not in ("-f", "json")]
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(argv, cwd=ROOT, env={**project.env(), "TERM": "xterm-256color", **env_extra},
                              stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE,
                              timeout=CLI_TIMEOUT_S)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.returncode in (0, 1)
        return b"".join(chunks)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
