"""Runs through the daemon against standalone runs, as a user types them: a fresh process per run.

Generates FOLDERS folders × FILES files with two `files` checks per folder (default 1 000 × 10 = 10k files,
2k checks; `--folders 10000` gives 100k / 20k), starts a daemon, then times, wall clock and CPU (the child's
own user + system time), each a fresh process with its output thrown away, the kinds of run interleaved
round by round so a machine whose load drifts slows all of them alike:

- cold: standalone (`HIE_TASKS_DAEMON=0`) on an empty result store of its own;
- standalone no-op: standalone on a warm store of its own (so it never disturbs the daemon's);
- daemon no-op, four ways of starting `hie-tasks run`: the `hie-tasks` command as installed (bin/hie-tasks),
  the wrapper pip would generate from an entry point instead (it imports `re` itself), `python -m hie_tasks`
  (runpy), and a bare `-c` call of the entry point;
- daemon edit: one file changed before each run; the run must rerun exactly that folder's two checks;
- `python -c pass` and `python -S -c pass`: the interpreter's own start-up (with and without `site`, which
  runs the venv's `.pth` hooks), the floor under any client.

Bytecode: the repository's modules are compiled into a private `PYTHONPYCACHEPREFIX` (and
`PYTHONDONTWRITEBYTECODE` is dropped), as pip compiles an installed package; `--no-bytecode` keeps the
caller's setting instead (then every run compiles hie-tasks' modules from source, cold and daemon alike).

The ratio cold / daemon no-op is what the issue asks for: ≥ 50× at 10k/2k and ≥ 200× at 100k/20k. Also
printed: the daemon's CPU over an idle period (`--idle` seconds) from /proc.

    python bench/daemon_bench.py [--folders 1000] [--files 10] [--runs 20] [--cold-runs 5] [--idle 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def generate(ws: Path, folders: int, files: int) -> None:
    lines = ["import files", ""]
    for f in range(folders):
        folder = ws / f"pkg{f:05d}"
        folder.mkdir(parents=True)
        for n in range(files):
            (folder / f"m{n:03d}.py").write_text(f"VALUE = {n}\n")
        lines += [f"element pkg{f:05d}:", f"    scope code = files.folder_selector('pkg{f:05d}')",
                  "    check files.exists(code, 'm000.py')", "    check files.max_size(code, 100000)", ""]
    (ws / "hielements.hie").write_text("\n".join(lines))


#: The `hie-tasks` command as installed (setuptools copies bin/hie-tasks, with the environment's interpreter
#: on its first line).
LAUNCHER = REPO / "bin" / "hie-tasks"
#: What pip would have generated from an entry point `hie-tasks = "hie_tasks.cli.entry:main"` (pip 23,
#: distlib's template), measured beside it: the launcher above replaced it because of its `import re`.
ENTRY_POINT_WRAPPER = """# -*- coding: utf-8 -*-
import re
import sys
from hie_tasks.cli.entry import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def env(daemon: bool, runtime: Path, pycache: Path | None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("HIE_TASKS_")}
    out.update({"PYTHONPATH": str(REPO), "XDG_RUNTIME_DIR": str(runtime)})
    if pycache is not None:
        out.pop("PYTHONDONTWRITEBYTECODE", None)
        out["PYTHONPYCACHEPREFIX"] = str(pycache)
    if not daemon:
        out["HIE_TASKS_DAEMON"] = "0"
    return out


def timed(argv: list[str], ws: Path, environ: dict[str, str], capture: bool = False) -> tuple[float, float, str]:
    """(wall s, the child's CPU s, its stdout when captured)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ws, env=environ, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv} failed: {proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout if capture else ""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def daemon_status(ws: Path, environ: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-m", "hie_tasks", "daemon", "status"], cwd=ws, env=environ,
                          capture_output=True, text=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folders", type=int, default=1000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--runs", type=int, default=20, help="daemon no-op runs of each kind")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--no-bytecode", action="store_true", help="keep the caller's PYTHONDONTWRITEBYTECODE")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="daemon-bench-") as tmp:
        ws, runtime = Path(tmp) / "ws", Path(tmp) / "run"
        runtime.mkdir(mode=0o700)
        pycache = None if args.no_bytecode else Path(tmp) / "pycache"
        script = Path(tmp) / "hie-tasks"
        script.write_text(LAUNCHER.read_text())
        wrapper = Path(tmp) / "entry-point" / "hie-tasks"
        wrapper.parent.mkdir()
        wrapper.write_text(ENTRY_POINT_WRAPPER)
        generate(ws, args.folders, args.files)
        standalone, through = env(False, runtime, pycache), env(True, runtime, pycache)
        tail = ["run", "-f", "json"]
        forms = {
            "console script": [sys.executable, str(script), *tail],
            "entry-point wrapper": [sys.executable, str(wrapper), *tail],
            "python -m hie_tasks": [sys.executable, "-m", "hie_tasks", *tail],
            "-c entry.main()": [sys.executable, "-c", "from hie_tasks.cli.entry import main; raise SystemExit(main())",
                                *tail],
        }
        floors = {"python -c pass": [sys.executable, "-c", "pass"], "python -S -c pass": [sys.executable, "-S", "-c", "pass"]}
        noop_store = Path(tmp) / "noop-store"
        timed([*forms["console script"], "--cache-dir", str(noop_store)], ws, standalone)  # warms it (and bytecode)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hie_tasks", "daemon", "start"], cwd=ws, env=through, check=True,
                       stdout=subprocess.DEVNULL)
        start_s = time.perf_counter() - started
        pid = int(daemon_status(ws, through).split("pid ", 1)[1].split(",")[0])
        results: dict[str, list[tuple[float, float]]] = {}

        def record(name: str, sample: tuple[float, float, str]) -> None:
            results.setdefault(name, []).append(sample[:2])

        try:
            for form in forms.values():
                timed(form, ws, through)  # the first answer after start renders the report once
            rounds = max(args.runs, args.cold_runs)
            for i in range(rounds):
                if i < args.cold_runs:
                    cold_store = Path(tmp) / f"cold-store-{i}"
                    record("cold", timed([*forms["console script"], "--cache-dir", str(cold_store)], ws, standalone))
                    shutil.rmtree(cold_store, ignore_errors=True)
                    record("standalone no-op",
                           timed([*forms["console script"], "--cache-dir", str(noop_store)], ws, standalone))
                if i < args.runs:
                    for name, form in forms.items():
                        record(f"daemon no-op, {name}", timed(form, ws, through))
                    for name, form in floors.items():
                        record(name, timed(form, ws, standalone))
            exact = True
            for i in range(args.runs):
                folder = f"pkg{(i * 7) % args.folders:05d}"
                (ws / folder / "m001.py").write_text(f"VALUE = {i + 1000}\n")
                sample = timed(forms["console script"], ws, through, capture=True)
                record("daemon one edit", sample)
                reran = {(r["element"], r["check"]) for r in json.loads(sample[2])["results"] if not r["cached"]}
                exact = exact and {e for e, _c in reran} == {folder} and len(reran) == 2
            served = daemon_status(ws, through)
            before = cpu_seconds(pid)
            time.sleep(args.idle)
            idle_pct = (cpu_seconds(pid) - before) / args.idle * 100
        finally:
            subprocess.run([sys.executable, "-m", "hie_tasks", "daemon", "stop"], cwd=ws, env=through,
                           stdout=subprocess.DEVNULL)

    def med(name: str, at: int) -> float:
        return statistics.median(s[at] for s in results[name])

    checks = 2 * args.folders
    print(f"workspace: {args.folders * args.files} files / {checks} checks; bytecode: "
          f"{'as the caller has it' if args.no_bytecode else 'compiled once (as installed)'}; "
          f"daemon start (initial run) {start_s * 1000:.0f} ms")
    width = max(len(k) for k in results) + 2
    print(f"{'run (median of ' + str(args.runs) + '; cold ' + str(args.cold_runs) + ')':<{width}} {'wall ms':>9} "
          f"{'cpu ms':>8} {'cold/wall':>10}")
    cold_wall = med("cold", 0)
    for name in results:
        print(f"{name:<{width}} {med(name, 0) * 1000:9.1f} {med(name, 1) * 1000:8.1f} {cold_wall / med(name, 0):9.0f}x")
    floor = med("python -c pass", 0)
    print(f"daemon no-op (console script) above `python -c pass`: "
          f"{(med('daemon no-op, console script', 0) - floor) * 1000:.1f} ms wall, "
          f"{(med('daemon no-op, console script', 1) - med('python -c pass', 1)) * 1000:.1f} ms cpu")
    print(f"edit reran exactly its 2 checks: {'yes' if exact else 'NO'}; daemon idle CPU {idle_pct:.2f} % over "
          f"{args.idle:.0f} s; runs served: {served.split('runs served: ', 1)[1].split(',')[0]}")


if __name__ == "__main__":
    main()
