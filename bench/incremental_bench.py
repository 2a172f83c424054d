"""Incremental runs at scale: hie-tasks vs doit on the same task graph, cold / no-op / one-file-change.

The workspace is generated: PACKAGES packages × FILES files (default 200 × 50 = 10 000 files: `src/*.py` and
`docs/*.md`), and a spec with CHECKS_PER_PACKAGE checks per package (default 10 → 2 000 checks): six built-in
`files` checks and four checks of a WASM plugin (C, built here with the SDK and ziglang, granted fs = "read")
that opens and reads every file of its Scope or counts them. Every check passes, so neither tool has a failed
task to redo on the no-op run.

doit gets the same graph: one task per check, `file_dep` = the check's scope files, an action doing the
equivalent work in Python. Both tools are timed as what a user runs — a fresh process each time (hie-tasks:
`python -m hie_tasks run -f json`; doit: this script's `_doit` worker calling
`DoitMain(ModuleTaskLoader(...)).run(...)`), so both pay interpreter start-up; the hie-tasks rows also show
the run phase it reports itself (`summary.duration_ms`: executing/replaying checks, after planning).

`--layout flat` is the issue-14 workspace instead: FOLDERS × FILES (`--packages 1000 --files 10` = 10k files /
2k checks, `--packages 10000 --files 10` = 100k / 20k), one folder scope and two built-in `files` checks per
folder, and doit with one task per check beside it. Every row shows the process's own CPU seconds (user + sys,
from wait4) and peak RSS, with `cpu/doit` the ratio to doit's same phase in the same invocation.
The `noop-full` row is a no-op with the run memo off (`HIE_TASKS_RUN_MEMO=0`): the per-check replay path
that the plain `noop` rows skip when nothing changed (hie_tasks/replay/memo.py). The `change` row appends a
line to one file in place; the memo's partial rerun (hie_tasks/replay/partial.py) then runs just the two
checks over its folder and answers the rest from the memo. It is the median of `--edits` (5) edits, each in
the next folder and each followed by a no-op (the `noop2` row, their median): later edits add to the delta
the first left. Then the floor under an edit: what a process pays just to import the memo module, and what
using the result store as any verdict-keeping rerun must (sqlite3 and json, a read, a write, a close) adds,
as a fraction of the no-op.
`--layout jobs`: cold runs at `-j 1`, `-j 4` and the default, on 200 checks of an external plugin sleeping
10 ms per call and on the flat built-in workspace, with ratios against `-j 1` in the same invocation.

Run: `python bench/incremental_bench.py [--layout wasm|flat|jobs] [--packages 200] [--files 50] [--jobs N]
[--format json|human] [--keep DIR]`.
Profile a phase: `--profile noop` runs that phase under cProfile (printed, sorted by cumulative time).

Results (2 shared cores, default sizes; wall s, `run phase` ms in brackets). Before/after measured back to
back under the same load, twice — this machine's speed drifts by ±30 % between minutes, so compare within a
block (before = the tree at the start of issue 5; after = with its changes only):

    block  tool              cold          no-op         one change
    1      hie-tasks before  4.81 (3853)   2.11 (1166)   1.96 (1101)
           hie-tasks after   3.83 (3202)   0.94  (328)   0.93  (351)
           doit              2.94 / 3.40   0.85 / 0.83   0.92 / 0.94
    2      hie-tasks before  3.79 (3054)   1.72  (802)   1.78  (865)
           hie-tasks after   2.95 (2382)   0.82  (336)   0.86  (343)
           doit              3.03 / 2.42   0.95 / 0.78   1.08 / 0.80

Where a no-op run's ~0.85 s goes now: interpreter start-up with site packages ~0.16 s, imports ~0.13 s,
parsing the 2600-line spec ~0.08 s, registry ~0.09 s (wasmtime is imported because a WASM plugin is
configured), scope selectors ~0.05 s plus evaluation ~0.05 s, the run phase ~0.33 s (stat of 10 000 files
and one read each of the stat cache and the verdicts ≈ 0.1 s, fingerprints ≈ 0.1 s, the rest per check),
the JSON report ~0.02 s.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: hie_tasks.incremental.digests.RACY_WINDOW_NS (not imported: this module must load without the package).
RACY_WINDOW_NS = 2_000_000_000
PLUGIN_NAME = "benchwasm"

#: The WASM side of the benchmark; real work over the Scope (open + read every file), not a canned answer.
PLUGIN_C = r"""
#include "hielements.h"

static long long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char buf[4096];
    long long total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) total += (long long)n;
    fclose(f);
    return total;
}

static void total_bytes_at_most(hie_ctx *c) {
    hie_scope scope;
    long long limit;
    if (!hie_arg_scope(c, 0, &scope) || !hie_arg_int(c, 1, &limit)) {
        hie_error(c, "total_bytes_at_most(scope, limit)");
        return;
    }
    long long total = 0;
    for (size_t i = 0; i < scope.npaths; i++) {
        long long size = file_size(scope.paths[i]);
        if (size < 0) { hie_error(c, "cannot read %s", scope.paths[i]); return; }
        total += size;
    }
    if (total <= limit) hie_pass(c);
    else hie_fail(c, "%lld bytes > %lld", total, limit);
}

static void count_at_least(hie_ctx *c) {
    hie_scope scope;
    long long want;
    if (!hie_arg_scope(c, 0, &scope) || !hie_arg_int(c, 1, &want)) {
        hie_error(c, "count_at_least(scope, n)");
        return;
    }
    if ((long long)scope.npaths >= want) hie_pass(c);
    else hie_fail(c, "%zu files < %lld", scope.npaths, want);
}

static const hie_function CHECKS[] = {
    {"total_bytes_at_most", total_bytes_at_most, "Sum of the scope's file sizes, read byte by byte",
     HIE_PARAMS({"scope", "Scope", "files"}, {"limit", "Int", "bytes"}), "CheckResult", ""},
    {"count_at_least", count_at_least, "At least n files", HIE_PARAMS({"scope", "Scope", "files"},
     {"n", "Int", "minimum"}), "CheckResult", ""},
    {0},
};

HIE_PLUGIN(.name = "benchwasm", .version = "1.0.0", .description = "incremental benchmark", .checks = CHECKS)
"""


# --------------------------------------------------------------------------------------------- the graph


@dataclass(frozen=True)
class Check:
    """One check of the graph, in both tools' terms: hie-tasks source text, and a scope + work for doit."""

    text: str
    scope: str  # "src" | "docs" | "init"
    work: str  # name in WORK
    arg: str | int


def package_checks() -> list[Check]:
    """The ten checks of every package: six built-in, four WASM."""
    return [
        Check("files.exists(src, 'mod_00.py')", "src", "exists", "mod_00.py"),
        Check("files.max_size(src, 100000)", "src", "max_size", 100000),
        Check("files.contains(docs, 'doc_00.md')", "docs", "contains", "doc_00.md"),
        Check("files.no_files_matching(src, '*.tmp')", "src", "no_match", "*.tmp"),
        Check("files.exists(init, 'mod_00.py')", "init", "exists_file", ""),
        Check("files.max_size(docs, 50000)", "docs", "max_size", 50000),
        Check(f"{PLUGIN_NAME}.total_bytes_at_most(src, 10000000)", "src", "total_bytes", 10000000),
        Check(f"{PLUGIN_NAME}.count_at_least(docs, 5)", "docs", "count", 5),
        Check(f"{PLUGIN_NAME}.total_bytes_at_most(init, 100000)", "init", "total_bytes", 100000),
        Check(f"{PLUGIN_NAME}.total_bytes_at_most(docs, 10000000)", "docs", "total_bytes", 10000000),
    ]


def file_text(pkg: int, n: int, generation: int = 0) -> str:
    # A few hundred bytes, different per file, like small source files.
    return f'"""module {n} of package {pkg}"""\n' + "".join(
        f"VALUE_{k} = {pkg * 1000 + n * 10 + k + generation}\n" for k in range(12)
    )


def generate_workspace(ws: Path, packages: int, files: int, wasm: Path) -> tuple[int, int]:
    """Writes the files, the spec and hielements.toml; returns (files, checks)."""
    docs_per_package = max(5, files // 5)
    written = 0
    for p in range(packages):
        pkg = ws / package_name(p)
        (pkg / "src").mkdir(parents=True)
        (pkg / "docs").mkdir()
        for n in range(files - docs_per_package):
            (pkg / "src" / f"mod_{n:02d}.py").write_text(file_text(p, n))
        for n in range(docs_per_package):
            (pkg / "docs" / f"doc_{n:02d}.md").write_text(f"# doc {n} of {p}\n")
        written += files
    checks = package_checks()
    lines: list[str] = []
    for p in range(packages):
        name = package_name(p)
        lines += [
            f"element {name}:",
            f"    scope src = files.folder_selector('{name}/src')",
            f"    scope docs = files.glob_selector('{name}/docs/*.md')",
            f"    scope init = files.file_selector('{name}/src/mod_00.py')",
        ]
        lines += [f"    check {c.text}" for c in checks]
    (ws / "bench.hie").write_text("\n".join(lines) + "\n")
    (ws / "hielements.toml").write_text(
        f'[libraries.{PLUGIN_NAME}]\npath = "{wasm}"\ncapabilities = {{ fs = "read" }}\n'
    )
    return written, packages * len(checks)


def build_wasm(out_dir: Path) -> Path:
    from hie_tasks.plugins_dev.build import build_plugin

    src = out_dir / "plugin-src"
    src.mkdir()
    (src / "benchwasm.c").write_text(PLUGIN_C)
    (src / "plugin.toml").write_text('name = "benchwasm"\nlang = "c"\nsources = ["benchwasm.c"]\n')
    return Path(build_plugin(str(src), str(out_dir / "benchwasm.wasm")).output)


def one_change(ws: Path, packages: int) -> Path:
    """Edit one source file in the middle package; returns it."""
    target = ws / package_name(packages // 2) / "src" / "mod_07.py"
    target.write_text(file_text(packages // 2, 7, generation=1))
    return target


# --------------------------------------------------------------------------------------------- doit side


def _scope_paths(ws: str, pkg: str) -> dict[str, list[str]]:
    """The three scopes of a package, computed as the `files` selectors would (doit re-lists each run)."""
    src = sorted(os.path.join(d, f) for d, _, names in os.walk(os.path.join(ws, pkg, "src")) for f in names)
    docs = sorted(glob.glob(os.path.join(ws, pkg, "docs", "*.md")))
    init = os.path.join(ws, pkg, "src", "mod_00.py")
    return {"src": src, "docs": docs, "init": [init] if os.path.isfile(init) else []}


def _base(paths: list[str]) -> str:
    return os.path.dirname(paths[0]) if paths else "."


WORK: dict[str, Callable[[list[str], Any], bool]] = {
    "exists": lambda paths, name: os.path.exists(os.path.join(_base(paths), name)),
    "exists_file": lambda paths, _arg: bool(paths) and os.path.isfile(paths[0]),
    "max_size": lambda paths, limit: all(os.path.getsize(p) <= limit for p in paths),
    "contains": lambda paths, name: any(p.endswith(name) for p in paths),
    "no_match": lambda paths, pattern: not glob.glob(os.path.join(_base(paths), "**", pattern), recursive=True),
    "total_bytes": lambda paths, limit: sum(len(Path(p).read_bytes()) for p in paths) <= limit,
    "count": lambda paths, n: len(paths) >= n,
}


def doit_tasks(ws: str, packages: int) -> Iterator[dict[str, Any]]:
    checks = package_checks()
    for p in range(packages):
        pkg = package_name(p)
        scopes = _scope_paths(ws, pkg)
        for i, check in enumerate(checks):
            paths = scopes[check.scope]
            yield {
                "name": f"{pkg}:{i}",
                "file_dep": paths,
                "actions": [(WORK[check.work], (paths, check.arg))],
                "verbosity": 0,
            }


def doit_worker(ws: str, packages: int, db_file: str, layout: str = "wasm") -> int:
    """Entry point of the `_doit` subprocess: load the graph and let doit decide what is up to date."""
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    def task_check() -> Iterator[dict[str, Any]]:
        yield from (doit_flat_tasks if layout == "flat" else doit_tasks)(ws, packages)

    namespace = {"task_check": task_check, "DOIT_CONFIG": {"dep_file": db_file, "verbosity": 0}}
    return int(DoitMain(ModuleTaskLoader(namespace)).run(["run"]))


# --------------------------------------------------------------------------------------------- timing


@dataclass
class Measure:
    wall_s: float
    ran: int
    run_phase_ms: float | None = None
    cpu_s: float = 0.0
    rss_mb: float = 0.0


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    rss_mb: float


def timed(argv: list[str], env_extra: dict[str, str] | None = None) -> Finished:
    """Run a process to completion; its own CPU time (user + sys) and peak RSS from the kernel (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env={**_env(), **(env_extra or {})}, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Finished(proc.returncode, out.read().decode(), err.read().decode(), wall,
                        usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def _env() -> dict[str, str]:
    from bytecode import installed_env

    return installed_env({**os.environ, "PYTHONPATH": str(ROOT)})


def hie_run(ws: Path, store: Path, modcache: Path, jobs: int | None, profile: bool = False,
            spec: str = "bench.hie", fmt: str = "json", env_extra: dict[str, str] | None = None) -> Measure:
    argv = ["-m", "hie_tasks", "run", str(ws / spec), "-w", str(ws), "--cache-dir", str(store),
            "--module-cache", str(modcache), "-f", fmt]
    if jobs is not None:
        argv += ["-j", str(jobs)]
    if profile:
        argv = ["-m", "cProfile", "-s", "cumtime", "-m", "hie_tasks", *argv[2:]]
    proc = timed([sys.executable, *argv], env_extra)
    if fmt != "json":
        if proc.returncode != 0:
            raise SystemExit(f"hie-tasks run failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}")
        cached = next((line for line in proc.stdout.splitlines() if line.startswith("Cache: ")), "")
        replayed = int(cached.split()[1].replace(",", "")) if cached else 0
        total = int(proc.stdout.rsplit("Summary: ", 1)[1].split()[0])
        return Measure(proc.wall_s, total - replayed, None, proc.cpu_s, proc.rss_mb)
    if profile:
        # The JSON report comes first, the profile after it.
        head, _, rest = proc.stdout.partition('\n}\n')
        print("\n".join(rest.splitlines()[:60]))
        report = json.loads(head + "\n}")
    else:
        if proc.returncode != 0:
            raise SystemExit(f"hie-tasks run failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}")
        report = json.loads(proc.stdout)
    ran = sum(not r["cached"] for r in report["results"])
    bad = [r for r in report["results"] if r["status"] != "pass"]
    if bad:
        raise SystemExit(f"benchmark checks must all pass; first failure: {bad[0]}")
    return Measure(proc.wall_s, ran, float(report["summary"]["duration_ms"]), proc.cpu_s, proc.rss_mb)


def doit_run(ws: Path, packages: int, db_file: Path, layout: str = "wasm") -> Measure:
    proc = timed([sys.executable, __file__, "_doit", str(ws), str(packages), str(db_file), layout])
    if proc.returncode != 0:
        raise SystemExit(f"doit run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    # doit's default reporter writes ". task" for a task it executed and "-- task" for an up-to-date one.
    ran = sum(line.startswith(". ") for line in proc.stdout.splitlines())
    return Measure(proc.wall_s, ran, None, proc.cpu_s, proc.rss_mb)


def median(measures: list[Measure]) -> Measure:
    return sorted(measures, key=lambda m: m.cpu_s)[len(measures) // 2]


#: What any rerun that keeps its verdicts in the result store pays beyond a no-op answered by the memo: the
#: SQLite module (its C part, as the store loads it), one read of two verdict rows, one write transaction,
#: closing the store.
_FLOOR = """
import hie_tasks.replay.memo
import _sqlite3 as sqlite3
conn = sqlite3.connect(STORE, isolation_level=None)
conn.execute("PRAGMA synchronous = NORMAL")
rows = conn.execute("SELECT key, fingerprint, status FROM verdicts LIMIT 2").fetchall()
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
conn.execute("COMMIT")
conn.close()
"""


def floor_table(store: Path, noop: Measure, repeat: int = 11) -> None:
    """The floor under a one-file edit: a process that only imports the memo module (what a no-op loads
    first), and the same process also using the result store as a rerun must (on a copy of the store)."""
    with tempfile.TemporaryDirectory(prefix="hie-floor-") as tmp:
        copy = os.path.join(tmp, "results.sqlite")
        shutil.copy(store / "results.sqlite", copy)
        bare = [timed([sys.executable, "-c", "import hie_tasks.replay.memo"]).cpu_s for _ in range(repeat)]
        used = [timed([sys.executable, "-c", f"STORE = {copy!r}\n{_FLOOR}"]).cpu_s for _ in range(repeat)]
    bare.sort()
    used.sort()
    extra = used[repeat // 2] - bare[repeat // 2]
    print(f"\nfloor under an edit (medians of {repeat}): importing the memo module {bare[repeat // 2] * 1000:.1f} ms"
          f" CPU; + SQLite, a read, a write, closing: +{extra * 1000:.1f} ms = {extra / noop.cpu_s:.2f} × the"
          f" no-op ({noop.cpu_s * 1000:.1f} ms), before running or printing anything")


def print_table(rows: dict[str, dict[str, Measure]]) -> None:
    """Wall and CPU seconds per phase; `cpu/doit` is the CPU ratio against doit's same phase (same run)."""
    doit = rows.get("doit", {})
    print(f"\n{'tool':<16} {'phase':<9} {'wall s':>7} {'cpu s':>7} {'cpu/doit':>8} {'cpu/no-op':>9} {'ran':>6}"
          f" {'rss MB':>7} {'run phase ms':>12}")
    for tool, phases in rows.items():
        noop = phases.get("noop")
        for phase, m in phases.items():
            inner = f"{m.run_phase_ms:12.0f}" if m.run_phase_ms is not None else f"{'-':>12}"
            peer = doit.get("noop" if phase == "noop-full" else phase)
            vs_doit = f"{m.cpu_s / peer.cpu_s:8.2f}" if peer is not None and peer.cpu_s else f"{'-':>8}"
            vs_noop = f"{m.cpu_s / noop.cpu_s:9.2f}" if noop is not None and noop.cpu_s else f"{'-':>9}"
            print(f"{tool:<16} {phase:<9} {m.wall_s:7.2f} {m.cpu_s:7.2f} {vs_doit} {vs_noop} {m.ran:>6}"
                  f" {m.rss_mb:7.0f} {inner}")


# --------------------------------------------------------------------------------------------- flat layout


def generate_flat(ws: Path, folders: int, files: int) -> tuple[int, int]:
    """The issue's synthetic workspaces: FOLDERS × FILES, two built-in `files` checks per folder (10k/2k is
    1000 × 10, 100k/20k is 10000 × 10)."""
    lines: list[str] = []
    for p in range(folders):
        name = package_name(p)
        folder = ws / name
        folder.mkdir(parents=True)
        for f in range(files):
            (folder / f"m{f:03d}.py").write_text(f"# module {p}.{f}\nVALUE = {f}\n")
        lines += [f"element {name}:", f"    scope code = files.folder_selector('{name}')",
                  "    check files.exists(code, 'm000.py')", "    check files.max_size(code, 100000)", ""]
    (ws / "bench.hie").write_text("\n".join(lines))
    return folders * files, folders * 2


def package_name(i: int) -> str:
    return f"pkg{i:03d}"


def flat_change(ws: Path, folders: int, nth: int = 0) -> Path:
    """Append a line to one file in place: edit `nth` goes to the `nth` folder after the middle one."""
    target = ws / package_name((folders // 2 + nth) % folders) / "m007.py"
    target.write_text(target.read_text() + "# edited\n")
    return target


def doit_flat_tasks(ws: str, folders: int) -> Iterator[dict[str, Any]]:
    for p in range(folders):
        name = package_name(p)
        paths = sorted(os.path.join(d, f) for d, _, names in os.walk(os.path.join(ws, name)) for f in names)
        yield {"name": f"{name}:exists", "file_dep": paths, "verbosity": 0,
               "actions": [(WORK["exists"], (paths, "m000.py"))]}
        yield {"name": f"{name}:max_size", "file_dep": paths, "verbosity": 0,
               "actions": [(WORK["max_size"], (paths, 100000))]}


# --------------------------------------------------------------------------------------------- -j


#: An external plugin whose only check sleeps 10 ms, like a check waiting on a linter process or a server.
SLEEPY_PLUGIN = r'''
import json, sys, time
for line in sys.stdin:
    req = json.loads(line)
    method = req.get("method")
    if method == "library.check":
        time.sleep(0.010)
        result = {"Pass": None}
    elif method == "library.call":
        result = {"List": []}
    else:
        result = {"name": "sleepy", "version": "1", "description": "", "functions": [], "checks": []}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": req.get("id"), "result": result}) + "\n")
    sys.stdout.flush()
'''


def _run_phase_ms(proc: Finished) -> float:
    return float(json.loads(proc.stdout)["summary"]["duration_ms"])


def jobs_bench(tmp: Path, folders: int, files: int) -> None:
    """`-j` never slower than `-j 1`: 200 checks of a plugin sleeping 10 ms per call (`-j 4` should be ≥ 3×
    faster), and the built-in flat workspace cold (the default `-j` against `-j 1`)."""
    ws = tmp / "sleepy"
    ws.mkdir()
    (ws / "sleepy.py").write_text(SLEEPY_PLUGIN)
    (ws / "a.txt").write_text("a\n")
    (ws / "hielements.toml").write_text(
        f'[libraries.sleepy]\nexecutable = "{sys.executable}"\nargs = ["{ws / "sleepy.py"}"]\n')
    (ws / "bench.hie").write_text("".join(
        f"element e{i:03d}:\n    scope s = files.file_selector('a.txt')\n    check sleepy.ok(s, {i})\n"
        for i in range(200)))
    print("\n-j: cold runs (--no-cache); wall s, ratio against -j 1 of the same workspace")
    print(f"{'workspace':<28} {'-j':>7} {'wall s':>7} {'cpu s':>7} {'-j 1 / this':>11} {'run phase ms':>12}"
          f" {'-j 1 / this':>11}")

    def cold(w: Path, jobs: int | None) -> Finished:
        argv = [sys.executable, "-m", "hie_tasks", "run", str(w / "bench.hie"), "-w", str(w), "--no-cache",
                "-f", "json"]
        proc = timed(argv + ([] if jobs is None else ["-j", str(jobs)]))
        if proc.returncode != 0:
            raise SystemExit(f"hie-tasks run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc

    flat = tmp / "flat-j"
    generate_flat(flat, folders, files)
    for label, w, settings in (("200 × sleepy (10 ms)", ws, [1, 4, None]),
                               (f"{folders * files} files / {folders * 2} built-in", flat, [1, None])):
        for _round in range(2):
            base = cold(w, 1)
            for jobs in settings:
                got = base if jobs == 1 else cold(w, jobs)
                shown = "default" if jobs is None else str(jobs)
                phase, base_phase = _run_phase_ms(got), _run_phase_ms(base)
                print(f"{label:<28} {shown:>7} {got.wall_s:7.2f} {got.cpu_s:7.2f} {base.wall_s / got.wall_s:11.2f}"
                      f" {phase:12.0f} {base_phase / phase:11.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", choices=["wasm", "flat", "jobs"], default="wasm",
                        help="wasm: packages × files with WASM checks; flat: folders × files, 2 built-in checks "
                             "per folder; jobs: the -j comparison")
    parser.add_argument("--packages", type=int, default=200, help="packages (flat: folders)")
    parser.add_argument("--files", type=int, default=50, help="files per package")
    parser.add_argument("--jobs", type=int, default=None, help="hie-tasks -j (default: hie-tasks' own default)")
    parser.add_argument("--format", choices=["json", "human"], default="json", help="hie-tasks output format")
    parser.add_argument("--keep", help="build the workspace in this (new) directory and keep it")
    parser.add_argument("--edits", type=int, default=9, help="edits measured (medians), each followed by a no-op")
    parser.add_argument("--profile", choices=["cold", "noop", "change"], help="cProfile this hie-tasks phase")
    args = parser.parse_args(argv)

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hie-incr-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        if args.layout == "jobs":
            jobs_bench(tmp, args.packages, args.files)
            return 0
        ws = tmp / "ws"
        if args.layout == "flat":
            n_files, n_checks = generate_flat(ws, args.packages, args.files)
        else:
            wasm = build_wasm(tmp)
            n_files, n_checks = generate_workspace(ws, args.packages, args.files, wasm)
        print(f"workspace: {n_files} files, {n_checks} checks ({args.packages} folders) in {ws}")
        # Files younger than the stat cache's racy window are re-hashed on every run by design (their mtime
        # cannot vouch for their content yet); real source trees are older than that when a run starts.
        time.sleep(RACY_WINDOW_NS / 1e9 + 0.2)
        store, modcache = tmp / "store", tmp / "modcache"
        rows: dict[str, dict[str, Measure]] = {"hie-tasks": {}, "doit": {}}
        def change(nth: int) -> None:
            if args.layout == "flat":
                flat_change(ws, args.packages, nth)
            else:
                one_change(ws, args.packages)

        paired: dict[str, float] = {}

        def edits(run: Callable[[bool], Measure], tool: str) -> tuple[Measure, Measure]:
            """`--edits` edits, each run, then a no-op run: the median of each (by CPU). One process start
            is noisy at this size, and later edits add to what the first left. Also the median of each
            edit's CPU over the no-op's right after it (`paired`): a ratio that holds when the machine's
            speed drifts between the phases."""
            changed, still = [], []
            for nth in range(args.edits):
                change(nth)
                changed.append(run(nth == 0))
                still.append(run(False))
            ratios = sorted(e.cpu_s / n.cpu_s for e, n in zip(changed, still, strict=True))
            paired[tool] = ratios[len(ratios) // 2]
            return median(changed), median(still)

        rows["hie-tasks"]["cold"] = hie_run(ws, store, modcache, args.jobs, profile=args.profile == "cold",
                                            fmt=args.format)
        # The no-op every ratio is taken against: the median of three (one process start is noisy at this
        # size, and the edit row is a median too).
        rows["hie-tasks"]["noop"] = median([hie_run(ws, store, modcache, args.jobs, profile=args.profile == "noop",
                                                    fmt=args.format) for _ in range(3)])
        rows["hie-tasks"]["change"], rows["hie-tasks"]["noop2"] = edits(
            lambda first: hie_run(ws, store, modcache, args.jobs, profile=first and args.profile == "change",
                                  fmt=args.format), "hie-tasks")
        # The same no-op without the run memo (hie_tasks/replay): the path that replays check by check.
        rows["hie-tasks"]["noop-full"] = hie_run(ws, store, modcache, args.jobs, fmt=args.format,
                                                 env_extra={"HIE_TASKS_RUN_MEMO": "0"})
        # doit on a pristine copy of the same graph, so its "change" is the same single edit.
        shutil.rmtree(ws)
        if args.layout == "flat":
            generate_flat(ws, args.packages, args.files)
        else:
            generate_workspace(ws, args.packages, args.files, wasm)
        time.sleep(RACY_WINDOW_NS / 1e9 + 0.2)
        db = tmp / "doit" / ".doit.db"
        db.parent.mkdir()
        for phase in ("cold", "noop"):
            rows["doit"][phase] = doit_run(ws, args.packages, db, args.layout)
        rows["doit"]["change"], rows["doit"]["noop2"] = edits(
            lambda _first: doit_run(ws, args.packages, db, args.layout), "doit")
        print_table(rows)
        print(f"\nedit / the no-op right after it, paired, median of {args.edits}: "
              + ", ".join(f"{tool} {ratio:.2f}" for tool, ratio in paired.items()))
        if args.layout == "flat":
            floor_table(store, rows["hie-tasks"]["noop2"])
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    # Runs from a checkout without installing the package, like the other bench scripts' users expect.
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) == 6 and sys.argv[1] == "_doit":
        _code = doit_worker(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
        sys.exit(_code)
    sys.exit(main())
