"""The shared verdict cache at scale: 2,000 checks replayed from a real BuildGrid into an empty local store,
against the cold run and against a local no-op, measured in the same run.

The workspace is generated (PACKAGES packages × 4 files, 10 built-in `files` checks each: 2,000 checks by
default). A cache-only BuildGrid (the config of `cache/buildgrid.yml`) is started on a free port; it needs
BuildGrid in a Python >= 3.13 venv (`$HIE_TASKS_BUILDGRID` names its `bgd`, else
`~/.cache/hie-tasks-ci/buildgrid/bin/bgd`, which `.ci/run` and `cache/serve` create).

Phases, each a fresh `python -m hie_tasks run -f json` process as a user runs it, ROUNDS times, interleaved:
- cold: empty local store, `--remote-mode off` (every check runs);
- cold + upload: empty local store, read-write, `--refresh` (every check runs and is uploaded; the process
  waits for the uploads at exit);
- remote replay: a checkout at ANOTHER path with an empty local store, read-only: every verdict from the remote;
- local no-op: the same checkout again: every verdict from the local store.
Printed: median wall seconds and CPU seconds of the process (user + sys), the run phase hie-tasks reports
(`summary.duration_ms`), and each phase's wall time relative to the cold run.

Run: `python bench/remote_bench.py [--packages 200] [--rounds 3]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def find_bgd() -> str | None:
    for candidate in (os.environ.get("HIE_TASKS_BUILDGRID"),
                      os.path.expanduser("~/.cache/hie-tasks-ci/buildgrid/bin/bgd"), shutil.which("bgd")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def make_workspace(root: Path, packages: int) -> int:
    lines: list[str] = []
    for p in range(packages):
        for f in range(4):
            path = root / "src" / f"pkg{p}" / f"m{f}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"VALUE = {p * 10 + f}\n" * (f + 1))
        lines += [f"element pkg{p}:", f"    scope src = files.folder_selector('src/pkg{p}')",
                  f"    scope one = files.file_selector('src/pkg{p}/m0.py')"]
        lines += [f"    check files.exists(src, 'm{f}.py')" for f in range(4)]
        lines += ["    check files.exists(one, 'm0.py')", "    check files.max_size(src, 100000)",
                  "    check files.max_size(one, 5000)", "    check files.contains(src, 'm1.py')",
                  "    check files.no_files_matching(src, '*.tmp')", "    check files.exists(src, 'absent.py')"]
    (root / "spec.hie").write_text("\n".join(lines) + "\n")
    return packages * 10


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    bgd = find_bgd()
    if bgd is None:
        sys.exit("no BuildGrid found: set $HIE_TASKS_BUILDGRID or run cache/serve once to install it")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp / "buildgrid.yml"
    config.write_text((ROOT / "cache" / "buildgrid.yml").read_text().replace("127.0.0.1:50051", f"127.0.0.1:{port}"))
    proc = subprocess.Popen([bgd, "server", "start", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(600):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"grpc://127.0.0.1:{port}"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    sys.exit("BuildGrid did not start")


def timed(ws: Path, url: str, *extra: str, env: dict[str, str] | None = None) -> tuple[float, float, float, dict]:
    # Configured the way CI configures it, through the environment.
    argv = [sys.executable, "-m", "hie_tasks", "run", str(ws / "spec.hie"), "-w", str(ws), "-f", "json", *extra]
    base = {k: v for k, v in os.environ.items() if not k.startswith("HIE_TASKS_REMOTE") and k != "CI"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    settings = {"HIE_TASKS_REMOTE_CACHE": url, "HIE_TASKS_REMOTE_INSTANCE": "hie"}
    proc = subprocess.run(argv, cwd=ROOT, env={**base, "PYTHONPATH": str(ROOT), **settings, **(env or {})},
                          capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"run failed:\n{proc.stderr}")
    report = json.loads(proc.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, float(report["summary"]["duration_ms"]), report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hie-remote-bench-"))
    server, url = start_server(tmp)
    try:
        a, b = tmp / "runner-a" / "repo", tmp / "runner-b" / "somewhere" / "else"
        checks = make_workspace(a, args.packages)
        shutil.copytree(a, b)
        rows: dict[str, list[tuple[float, float, float]]] = {
            "cold (no remote)": [], "cold + upload": [], "remote replay, empty local store": [],
            "local no-op": []}
        for _ in range(args.rounds):
            shutil.rmtree(a / ".hie-cache", ignore_errors=True)
            rows["cold (no remote)"].append(timed(a, url, "--remote-mode", "off")[:3])
            shutil.rmtree(a / ".hie-cache", ignore_errors=True)
            # --refresh: every check runs (no replay, not even from the remote) and is uploaded.
            rows["cold + upload"].append(timed(a, url, "--refresh", env={"CI": "true"})[:3])
            shutil.rmtree(b / ".hie-cache", ignore_errors=True)
            wall, cpu, phase, report = timed(b, url)
            remote = sum(1 for r in report["results"] if r["cached"] == "remote")
            if remote != checks:
                sys.exit(f"expected {checks} remote hits, got {remote}")
            rows["remote replay, empty local store"].append((wall, cpu, phase))
            wall, cpu, phase, report = timed(b, url)
            if any(r["cached"] != "local" for r in report["results"]):
                sys.exit("the no-op run did not replay everything locally")
            rows["local no-op"].append((wall, cpu, phase))
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    cold = statistics.median(w for w, _c, _p in rows["cold (no remote)"])
    print(f"{checks} checks, {args.rounds} rounds, medians; BuildGrid on 127.0.0.1 (cache/buildgrid.yml)")
    print(f"{'phase':36} {'wall s':>8} {'cpu s':>8} {'run phase ms':>13} {'wall / cold':>12}")
    for name, samples in rows.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        phase = statistics.median(s[2] for s in samples)
        print(f"{name:36} {wall:8.2f} {cpu:8.2f} {phase:13.0f} {wall / cold:12.2f}")


if __name__ == "__main__":
    main()
