"""Watch-mode latency: from writing a file to the cycle's verdict being emitted.

Generates a workspace of `--files` files in `--packages` folders and a spec with one element per folder
(a folder scope, an `exists` check and a `max_size` check: 10k files / 2k checks by default, `--files 100000
--packages 10000` for 100k / 20k), starts the watcher in-process, then edits one file of one check's scope
`--edits` times, waiting for each cycle. The adaptive debounce (20 ms after a lone event, up to
`--debounce-ms` in a long burst) is part of the latency by design. Also measured: the process's CPU while
the watcher sits idle for `--idle` seconds, whether any cycle reported lost events (our own scans must
never overflow the kernel queue), and how long stopping takes.

    python bench/watch_bench.py [--files 10000] [--packages 1000] [--edits 25] [--debounce-ms 150] [--idle 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hie_tasks.engine.project import Project, ProjectOptions
from hie_tasks.watch.cycle import CycleReport
from hie_tasks.watch.events import DebounceSettings
from hie_tasks.watch.loop import Watcher


class TimedSink:
    def __init__(self) -> None:
        self.cycles: list[tuple[float, CycleReport]] = []
        self._cond = threading.Condition()

    def cycle(self, report: CycleReport) -> None:
        with self._cond:
            self.cycles.append((time.perf_counter(), report))
            self._cond.notify_all()

    def message(self, text: str) -> None:
        pass

    def wait_for(self, count: int, timeout: float = 60.0) -> tuple[float, CycleReport]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.cycles) >= count, timeout):
                raise SystemExit(f"no cycle {count} within {timeout}s")
            return self.cycles[count - 1]


def generate(root: str, files: int, packages: int) -> str:
    per = max(1, files // packages)
    lines: list[str] = []
    for p in range(packages):
        folder = os.path.join(root, f"pkg{p:04d}")
        os.makedirs(folder)
        for f in range(per):
            with open(os.path.join(folder, f"m{f:04d}.py"), "w") as fh:
                fh.write(f"# module {p}.{f}\nVALUE = {f}\n")
        lines += [
            f"element pkg{p:04d}:",
            f"    scope code = files.folder_selector('pkg{p:04d}')",
            "    check files.exists(code, 'm0000.py')",
            "    check files.max_size(code, 100000)",
            "",
        ]
    spec = os.path.join(root, "hielements.hie")
    with open(spec, "w") as fh:
        fh.write("\n".join(lines))
    return spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--packages", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=25)
    ap.add_argument("--debounce-ms", type=int, default=150)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--idle", type=float, default=60.0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        ws = os.path.join(tmp, "ws")
        os.makedirs(ws)
        spec = generate(ws, args.files, args.packages)
        options = ProjectOptions(module_cache_dir=os.path.join(tmp, "modcache"))
        options.run.jobs = args.jobs
        sink = TimedSink()
        watcher = Watcher(lambda: Project(spec, options), sink,
                          debounce=DebounceSettings(quiet_ms=args.debounce_ms))
        started = time.perf_counter()
        initial = watcher.start()
        initial_ms = (time.perf_counter() - started) * 1000
        assert initial.report is not None, initial.error
        checks = initial.report.totals.total
        loop = threading.Thread(target=watcher.run_cycles, daemon=True)
        loop.start()
        target = os.path.join(ws, "pkg0007", "m0003.py")
        time.sleep(1)  # let the initial scan's own events (none are subscribed to) settle
        latencies: list[float] = []
        cycle_ms: list[float] = []
        try:
            for i in range(args.edits):
                written = time.perf_counter()
                with open(target, "w") as fh:
                    fh.write(f"VALUE = {i}\n")
                emitted, report = sink.wait_for(i + 2)
                assert report.changed == ["pkg0007/m0003.py"], report.changed
                assert {o.element for o in report.reran} == {"pkg0007"}, [o.element for o in report.reran]
                latencies.append((emitted - written) * 1000)
                cycle_ms.append(report.duration_ms)
            # Idle: nothing changes; the watcher only waits (and checks its observer once a second).
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            time.sleep(args.idle)
            idle_pct = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before) * 100
            idle_cycles = len(sink.cycles) - (args.edits + 1)
        finally:
            stop_started = time.perf_counter()
            watcher.stop()
            loop.join(10)
            watcher.close()
            stop_ms = (time.perf_counter() - stop_started) * 1000
        lost = sum(report.events_lost for _t, report in sink.cycles)

    rows = [
        ("workspace files", f"{args.files}"),
        ("checks", f"{checks}"),
        ("initial cycle (cold store)", f"{initial_ms:.0f} ms"),
        ("edits measured", f"{len(latencies)}"),
        ("debounce quiet period", f"adaptive, 20..{args.debounce_ms} ms"),
        ("latency write→verdict, median", f"{statistics.median(latencies):.0f} ms"),
        ("latency write→verdict, max", f"{max(latencies):.0f} ms"),
        ("cycle work (plan+run+index), median", f"{statistics.median(cycle_ms):.0f} ms"),
        ("cycle work, max", f"{max(cycle_ms):.0f} ms"),
        (f"idle CPU over {args.idle:.0f} s", f"{idle_pct:.2f} %"),
        ("cycles while idle", f"{idle_cycles}"),
        ("cycles with events_lost", f"{lost}"),
        ("stop (Ctrl-C path) took", f"{stop_ms:.0f} ms"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value:>10}")


if __name__ == "__main__":
    main()
