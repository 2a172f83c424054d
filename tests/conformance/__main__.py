"""`python -m tests.conformance [--seeds N] [--start S] [PATH ...]`: the differential run.

Without PATHs it generates N programs from seeds S, S+1, … (default: 1000 from 100000, seeds the pytest
module never uses); with PATHs it runs every `.hie` file found. Prints the table of mismatch classes and
exits 1 when any difference falls outside the documented exceptions.

`--real` instead runs the `python` and `rust` built-ins on real source trees (installed packages, Debian's
crate sources; `--trees rich,regex` picks some): per tree a spec of `--checks` checks generated from the
names in the tree, compared with the oracle by verdict and message (tree table plus mismatch classes).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.conformance.cases import from_paths, generated
from tests.conformance.compare import compare_all, oracle_path, table
from tests.conformance.realcode import main_real


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.conformance")
    p.add_argument("paths", nargs="*", type=Path, help=".hie files or directories of them (default: generate)")
    p.add_argument("--seeds", type=int, default=1000, help="how many generated programs")
    p.add_argument("--start", type=int, default=100_000, help="first seed")
    p.add_argument("--fresh", action="store_true", help="one process per call of ours (slow, no batching)")
    p.add_argument("--show", type=int, default=0, help="print the details of this many failing cases")
    p.add_argument("-j", "--workers", type=int, default=2)
    p.add_argument("--real", action="store_true", help="real-code mode: python/rust built-ins on real trees")
    p.add_argument("--trees", default="", help="with --real: comma-separated trees (default: all found)")
    p.add_argument("--checks", type=int, default=200, help="with --real: checks per tree")
    p.add_argument("--real-seeds", default="20261202", help="with --real: comma-separated seeds")
    p.add_argument("--no-native", action="store_true", help="with --real: skip `hie-tasks run` (drop-in only)")
    args = p.parse_args(argv)
    oracle = oracle_path()
    if oracle is None:
        print("conformance: no oracle at ../shared/oracle/hielements (set HIE_ORACLE); nothing compared")
        return 0
    if args.real:
        with tempfile.TemporaryDirectory(prefix="hie-conformance-real-") as tmp:
            return main_real(
                [t for t in args.trees.split(",") if t], args.checks,
                [int(s) for s in args.real_seeds.split(",") if s], oracle, Path(tmp),
                native=not args.no_native, show=args.show,
            )
    failed = False
    with tempfile.TemporaryDirectory(prefix="hie-conformance-") as tmp:
        suites = []
        if args.paths:
            suites.append(("files", from_paths(args.paths)))
        else:
            suites.append(("generated", generated(range(args.start, args.start + args.seeds), Path(tmp))))
        for title, cases in suites:
            outcomes = compare_all(cases, oracle=oracle, workers=args.workers, fresh=args.fresh)
            print(f"## {title}\n")
            print(table(outcomes))
            print()
            bad = [o for o in outcomes if not o.agrees]
            failed = failed or bool(bad)
            for o in bad[: args.show]:
                print(f"--- {o.case.name} ({o.case.cwd / o.case.file})")
                for cls, detail in o.diffs:
                    print(f"  [{cls}] {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
