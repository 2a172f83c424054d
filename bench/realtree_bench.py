"""Built-in `python` and `rust` checks on real source trees we did not write, against the upstream CLI.

The trees are on the machine already: an installed package's sources for `python` (`rich`, a runtime
dependency of hie-tasks, copied out of site-packages so the result store never lands there) and crates from
Debian's Rust packages for `rust` (the harness's `WORKSPACE_CRATES` from `/usr/share/cargo/registry`, laid
out as one workspace, which `apt-get install librust-regex-dev librust-clap-dev librust-serde-json-dev`
provides; the `rust` rows are skipped, with the reason, without them).

The spec comes from the conformance harness's real-code generator (`tests/conformance/realcode.py`, the one
place both use): names that occur in the tree, a fixed seed, CHECKS checks spread over elements, every
selector and check of the library used. Three commands are timed as whole processes, alternating, REPEAT
times:

- `upstream`: `../shared/oracle/hielements run SPEC -w WS -f json` (it keeps no cache: a full run every time);
- `cold`: `python -m hie_tasks run SPEC -w WS -f json` with an empty result store;
- `no-op`: the same again, nothing changed (answered by the run memo, hie_tasks/replay);
- `no-op, memo off`: the same with `HIE_TASKS_RUN_MEMO=0`: the full path that replays check by check.

The table gives median wall and CPU seconds and the ratios to upstream measured in the same run, and checks
that both sides gave the same verdicts. Run: `python bench/realtree_bench.py [--checks 200] [--repeat 5]`.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conformance.realcode import Tree, python_tree, rust_tree, scan, spec  # noqa: E402

ORACLE = ROOT.parent / "shared" / "oracle" / "hielements"


@dataclass
class Timing:
    wall: float
    cpu: float


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[Timing, dict[str, Any]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"{cmd[0]} printed no JSON (exit {proc.returncode}):\n{proc.stderr[-2000:]}") from None
    return Timing(wall, cpu), report


def _verdicts(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((r["element"], r["check"], str(r.get("status", r.get("passed")))) for r in report["results"])


# --- the measurement ---------------------------------------------------------------------------------------


def _measure(tree: Tree, checks: int, repeat: int, work: Path) -> list[str]:
    lib = tree.lib
    ws = tree.materialise(work / f"{lib}-ws")
    # Without argument errors: `hie-tasks run` rejects those at plan time, and the run is what is timed.
    spec_text = spec(lib, scan(lib, ws), checks, 20261201, argument_errors=False)
    spec_file = work / f"{lib}.hie"
    spec_file.write_text(spec_text)
    from bytecode import installed_env

    env = installed_env({**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)})
    store = work / f"{lib}-store"
    ours = [sys.executable, "-m", "hie_tasks", "run", str(spec_file), "-w", str(ws), "-f", "json",
            "--cache-dir", str(store)]
    upstream = [str(ORACLE), "run", str(spec_file), "-w", str(ws), "-f", "json"]
    rows: dict[str, list[Timing]] = {"upstream": [], "cold": [], "no-op": [], "no-op, memo off": []}
    # A checked-out tree is older than the racy window (2 s); one copied a moment ago is not, and its run
    # memo would not be written (hie_tasks/replay/memo.py).
    time.sleep(2.2)
    agree = True
    full_env = {**env, "HIE_TASKS_RUN_MEMO": "0"}
    for _ in range(repeat):
        t_up, r_up = _run(upstream, work, env)
        shutil.rmtree(store, ignore_errors=True)
        t_cold, r_cold = _run(ours, work, env)
        t_noop, r_noop = _run(ours, work, env)
        t_full, r_full = _run(ours, work, full_env)
        rows["upstream"].append(t_up)
        rows["cold"].append(t_cold)
        rows["no-op"].append(t_noop)
        rows["no-op, memo off"].append(t_full)
        agree = agree and _verdicts(r_up) == _verdicts(r_cold) == _verdicts(r_noop) == _verdicts(r_full)
    up_wall = statistics.median(t.wall for t in rows["upstream"])
    up_cpu = statistics.median(t.cpu for t in rows["upstream"])
    out = []
    for name, timings in rows.items():
        wall = statistics.median(t.wall for t in timings)
        cpu = statistics.median(t.cpu for t in timings)
        out.append(
            f"| {lib} ({len(list(ws.rglob('*.' + ('py' if lib == 'python' else 'rs'))))} files) | {name} "
            f"| {wall:.3f} | {cpu:.3f} | {wall / up_wall:.2f} | {cpu / up_cpu:.2f} |"
        )
    out.append(f"| {lib} | verdicts equal to upstream | {'yes' if agree else 'NO'} | | | |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["python", "rust"])
    args = parser.parse_args()
    if not ORACLE.exists():
        print(f"skipped: the upstream CLI is not at {ORACLE}")
        return
    table = ["| tree | run | wall s | cpu s | wall / upstream | cpu / upstream |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="hie-realtree-") as tmp:
        work = Path(tmp)
        for lib, tree in (("python", python_tree("rich")), ("rust", rust_tree("crates"))):
            if args.only and lib != args.only:
                continue
            if tree is None:
                table.append(f"| {lib} | skipped: no tree (apt-get install librust-regex-dev) | | | | |")
                continue
            table.extend(_measure(tree, args.checks, args.repeat, work))
    print("\n".join(table))


if __name__ == "__main__":
    main()
