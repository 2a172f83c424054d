"""Runs through the daemon against standalone runs, as a user types them: fresh `python -m hie_tasks run`.

Generates FOLDERS folders × FILES files with two `files` checks per folder (default 1 000 × 10 = 10k files,
2k checks; `--folders 10000` gives 100k / 20k), then times, wall clock, each a fresh process with its output
thrown away:

- cold: standalone (`HIE_TASKS_DAEMON=0`), no result store;
- standalone no-op: standalone, warm store;
- daemon no-op: `run` answered by a live `hie-tasks daemon`;
- daemon edit: one file changed before each run; the run must rerun exactly that folder's two checks;
- `python -c pass`: the interpreter's own start-up, the floor under any client.

Runs are started as the `hie-tasks` console script starts them (`hie_tasks.cli.entry:main`), for every row.

The ratios (cold / daemon) are what the issue asks for: ≥ 50× at 10k/2k and ≥ 200× at 100k/20k. Also printed:
the daemon's CPU over an idle period (`--idle` seconds) from /proc.

    python bench/daemon_bench.py [--folders 1000] [--files 10] [--runs 10] [--cold-runs 2] [--idle 60]
"""

from __future__ import annotations

import argparse
import json
import os
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


def env(daemon: bool, runtime: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("HIE_TASKS_")}
    out.update({"PYTHONPATH": str(REPO), "XDG_RUNTIME_DIR": str(runtime)})
    if not daemon:
        out["HIE_TASKS_DAEMON"] = "0"
    return out


def timed(argv: list[str], ws: Path, environ: dict[str, str], capture: bool = False) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ws, env=environ, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv} failed: {proc.stderr}")
    return wall, proc.stdout if capture else ""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folders", type=int, default=1000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--cold-runs", type=int, default=2)
    ap.add_argument("--idle", type=float, default=60.0)
    args = ap.parse_args()
    # What the `hie-tasks` console script runs (`-m` would add runpy's own imports to every row).
    run = [sys.executable, "-c", "from hie_tasks.cli.entry import main; raise SystemExit(main())", "run", "-f", "json"]

    with tempfile.TemporaryDirectory(prefix="daemon-bench-") as tmp:
        ws, runtime = Path(tmp) / "ws", Path(tmp) / "run"
        runtime.mkdir(mode=0o700)
        generate(ws, args.folders, args.files)
        standalone, through = env(False, runtime), env(True, runtime)
        cold = []
        for _ in range(args.cold_runs):
            shutil.rmtree(ws / ".hie-cache", ignore_errors=True)
            cold.append(timed(run, ws, standalone)[0])
        noop = [timed(run, ws, standalone)[0] for _ in range(max(3, args.runs // 3))]
        bare = [timed([sys.executable, "-c", "pass"], ws, standalone)[0] for _ in range(args.runs)]
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hie_tasks", "daemon", "start"], cwd=ws, env=through, check=True,
                       stdout=subprocess.DEVNULL)
        start_s = time.perf_counter() - started
        status = subprocess.run([sys.executable, "-m", "hie_tasks", "daemon", "status"], cwd=ws, env=through,
                                capture_output=True, text=True).stdout
        pid = int(status.split("pid ", 1)[1].split(",")[0])
        try:
            daemon_noop = [timed(run, ws, through)[0] for _ in range(args.runs)]
            daemon_edit, exact = [], True
            for i in range(args.runs):
                folder = f"pkg{(i * 7) % args.folders:05d}"
                (ws / folder / "m001.py").write_text(f"VALUE = {i + 1000}\n")
                wall, out = timed(run, ws, through, capture=True)
                daemon_edit.append(wall)
                reran = {(r["element"], r["check"]) for r in json.loads(out)["results"] if not r["cached"]}
                exact = exact and {e for e, _c in reran} == {folder} and len(reran) == 2
            served = subprocess.run([sys.executable, "-m", "hie_tasks", "daemon", "status"], cwd=ws, env=through,
                                    capture_output=True, text=True).stdout
            before = cpu_seconds(pid)
            time.sleep(args.idle)
            idle_pct = (cpu_seconds(pid) - before) / args.idle * 100
        finally:
            subprocess.run([sys.executable, "-m", "hie_tasks", "daemon", "stop"], cwd=ws, env=through,
                           stdout=subprocess.DEVNULL)

    med = statistics.median
    checks = 2 * args.folders
    rows = [
        ("workspace", f"{args.folders * args.files} files / {checks} checks"),
        ("cold standalone run (wall, median)", f"{med(cold) * 1000:.0f} ms"),
        ("standalone no-op", f"{med(noop) * 1000:.0f} ms"),
        ("daemon start (initial run)", f"{start_s * 1000:.0f} ms"),
        ("daemon no-op", f"{med(daemon_noop) * 1000:.1f} ms"),
        ("daemon one edit", f"{med(daemon_edit) * 1000:.1f} ms"),
        ("python -c pass (floor)", f"{med(bare) * 1000:.1f} ms"),
        ("cold / daemon no-op", f"{med(cold) / med(daemon_noop):.0f}x"),
        ("standalone no-op / daemon no-op", f"{med(noop) / med(daemon_noop):.0f}x"),
        ("cold / daemon edit", f"{med(cold) / med(daemon_edit):.0f}x"),
        ("edit reran exactly its 2 checks", "yes" if exact else "NO"),
        ("daemon idle CPU", f"{idle_pct:.2f} % over {args.idle:.0f} s"),
        ("runs served by the daemon", served.split("runs served: ", 1)[1].split(",")[0]),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value:>24}")


if __name__ == "__main__":
    main()
