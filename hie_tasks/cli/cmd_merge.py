"""`merge`: one report, in any format, from the JSON reports of the shards of a run (`run --shard i/N`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from hie_tasks.cli.cmd_run import emit
from hie_tasks.cli.common import EXIT_FAILED, EXIT_OK, CliError, console
from hie_tasks.output.formats import FORMATS


def _sources(report_files: list[str], base_dir: str) -> dict[str, str]:
    """The .hie texts, for caret rendering in human output, when the merge runs beside the checkout."""
    out: dict[str, str] = {}
    for file in report_files:
        path = os.path.join(base_dir, file) if base_dir else file
        try:
            with open(path, encoding="utf-8") as fh:
                out[file] = fh.read()
        except (OSError, UnicodeDecodeError):
            continue
    return out


def run(args: argparse.Namespace) -> int:
    from hie_tasks.output.merge import MergeError, merge_files

    try:
        report, info = merge_files(args.reports)
    except MergeError as exc:
        raise CliError(exc.message, help=exc.help) from None
    if args.format == "human":
        import io

        from hie_tasks.output.human import HumanReporter

        sink = io.StringIO() if args.output else None
        reporter = HumanReporter(console(sink) if sink is not None else console())
        with reporter:
            reporter.header(info.spec or "the merged shards", report.workspace, report.totals.total)
            reporter.diagnostics(report.diagnostics, _sources(sorted({d.file for d in report.diagnostics}),
                                                              report.base_dir))
            for n, outcome in enumerate(report.outcomes, 1):
                reporter.on_outcome(outcome, n, len(report.outcomes))
            reporter.summary(report)
        if sink is not None:
            _write(args.output, sink.getvalue().rstrip("\n"))
    else:
        try:
            emit(report, args.format, args.output)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return EXIT_OK if report.ok else EXIT_FAILED


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "merge", help="merge the JSON reports of a sharded run into one report",
        description="Merge the JSON reports of all shards of one run (`run --shard I/N -f json -o FILE`) into "
                    "one report with a summary over all. Exit codes: 0 all passed, 1 a failure or error, 2 "
                    "reports missing, duplicated, unreadable or from different plans.",
    )
    p.add_argument("reports", nargs="+", metavar="REPORT", help="each shard's JSON report")
    p.add_argument("-f", "--format", choices=FORMATS, default="human")
    p.add_argument("-o", "--output", metavar="FILE", help="write the merged report here instead of stdout")
    p.set_defaults(func=run)
