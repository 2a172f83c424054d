"""`run` (and `check` in hie-tasks): validate, then execute the spec's checks against a workspace."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from hie_tasks.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    console,
    error_console,
    print_diagnostics,
    resolve_spec,
)
from hie_tasks.cli.loading import load_spec_or_exit
from hie_tasks.engine.project import ProjectOptions
from hie_tasks.engine.runner import ProgressCallback, RunOptions

if TYPE_CHECKING:
    from hie_tasks.engine.interpreter import Plan
    from hie_tasks.engine.project import Project
    from hie_tasks.engine.results import CheckOutcome, RuleDoc, RunReport, ShardInfo
    from hie_tasks.lang.loader import SpecSet

# Only what `run -f json` needs is imported at module level: rich (human output, messages) and the other
# report formats load on the paths that use them, because start-up dominates a run that replays everything.

FORMATS = ["human", "json", "junit", "github", "sarif"]


def project_options(args: argparse.Namespace, *, upstream: bool) -> ProjectOptions:
    return ProjectOptions(
        workspace=args.workspace,
        cache_dir=getattr(args, "cache_dir", None),
        module_cache_dir=getattr(args, "module_cache", None),
        # The drop-in behaves like upstream: it leaves nothing behind in the workspace.
        use_store=not upstream and not getattr(args, "no_cache", False),
        refresh=getattr(args, "refresh", False),
        element_filter=args.filter,
        run=RunOptions(jobs=getattr(args, "jobs", 0) or 0, limit=args.limit),
    )


def _dry_run(spec: SpecSet) -> None:
    from rich.text import Text

    from hie_tasks.lang import ast
    from hie_tasks.lang.printer import expr_text

    out = console()

    def visit(element: ast.Element, parent: str) -> None:
        path = f"{parent}.{element.name}" if parent else element.name
        out.print(Text(f"element {path}", style="bold"))
        for item in element.items:
            if isinstance(item, ast.ScopeDecl):
                lang = f"<{item.language}>" if item.language else ""
                value = f" = {expr_text(item.expr)}" if item.expr is not None else ""
                out.print(f"  scope {item.name}{lang}{value}")
            elif isinstance(item, ast.RefDecl):
                value = f" = {expr_text(item.expr)}" if item.expr is not None else ""
                out.print(f"  {item.keyword} {item.name}: {item.type_name}{value}")
            elif isinstance(item, ast.UsesDecl):
                out.print(f"  {item.source} uses {'.'.join(item.target)}")
            elif isinstance(item, ast.CheckDecl):
                out.print(f"  check {expr_text(item.expr)}")
        for child in element.children:
            visit(child, path)

    for program in spec.programs:
        for element in program.elements:
            visit(element, "")


def emit(report: RunReport, fmt: str, output: str | None) -> None:
    if fmt == "json":
        from hie_tasks.output import json_report

        text = json_report.render(report)
    elif fmt == "junit":
        from hie_tasks.output import junit

        text = junit.render(report)
    elif fmt == "github":
        from hie_tasks.output import github

        text = github.render(report)
    elif fmt == "sarif":
        from hie_tasks.output import sarif

        text = sarif.render(report)
    else:
        return
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")


def _ci_plan(args: argparse.Namespace, project: Project, spec: SpecSet, spec_path: str, plan: Plan
             ) -> tuple[Plan, ShardInfo | None, dict[str, RuleDoc]]:
    """`--shard`: this shard's part of the plan; SARIF and sharded JSON also carry the catalog's rules."""
    rules: dict[str, RuleDoc] = {}
    if args.format == "sarif" or getattr(args, "shard_spec", None) is not None:
        from hie_tasks.engine.rules import collect_rules

        rules = collect_rules(plan.checks)
    shard = getattr(args, "shard_spec", None)
    if shard is None:
        return plan, None, rules
    from hie_tasks.engine.shard import ShardError, shard_plan

    try:
        part, info = shard_plan(project, plan, shard, diagnostics=[*spec.diagnostics, *plan.diagnostics],
                                durations_file=getattr(args, "durations", None), spec=spec_path)
    except ShardError as exc:
        raise CliError(str(exc)) from None
    return part, info, rules


def verbose_trace(inner: ProgressCallback | None) -> ProgressCallback:
    """`-v`: one stderr line per finished check (upstream traces progress there), then the normal callback."""
    err = error_console()

    def trace(outcome: CheckOutcome, done: int, total: int) -> None:
        how = "cached" if outcome.cached else f"{outcome.duration_ms:.1f} ms"
        err.print(f"[{done}/{total}] {outcome.status.value} {outcome.element} :: {outcome.check} ({how})",
                  markup=False, highlight=False)
        if inner is not None:
            inner(outcome, done, total)

    return trace


def execute(args: argparse.Namespace, *, upstream: bool = False) -> int:
    check_arguments(args)
    spec_path = resolve_spec(args.file)
    options = project_options(args, upstream=upstream)
    machine = args.format != "human"
    spec, project = load_spec_or_exit(spec_path, None, machine, options)
    with project:
        if spec.diagnostics:
            print_diagnostics(error_console(), spec.diagnostics, spec.sources)
        if any(d.is_error for d in spec.diagnostics):
            from rich.text import Text

            error_console().print(Text(f"✗ {spec_path} has errors; no checks were run", style="bold red"))
            return EXIT_FAILED
        if args.dry_run:
            _dry_run(spec)
            return EXIT_OK
        if args.verbose:
            error_console().print(f"workspace: {project.workspace}")
            if project.options.use_store:
                error_console().print(f"result store: {project.result_cache_dir()}")
        plan = project.plan(spec)
        plan, shard_info, rules = _ci_plan(args, project, spec, spec_path, plan)
        if project.store_warnings:
            from rich.text import Text

            for warning in project.store_warnings:
                error_console().print(Text(f"warning: {warning}", style="yellow"))
        if args.format == "human":
            from hie_tasks.output.human import HumanReporter

            reporter = HumanReporter(console())
            with reporter:
                label = spec_path if shard_info is None else f"{spec_path}, shard {shard_info.index}/{shard_info.count}"
                reporter.header(label, project.workspace, sum(not c.skipped for c in plan.checks))
                if plan.diagnostics:
                    reporter.diagnostics(plan.diagnostics, spec.sources)
                report = project.run_plan(
                    plan, verbose_trace(reporter.on_outcome) if args.verbose else reporter.on_outcome
                )
                reporter.summary(report)
        else:
            if plan.diagnostics and args.verbose:
                print_diagnostics(error_console(), plan.diagnostics, spec.sources)
            report = project.run_plan(plan, verbose_trace(None) if args.verbose else None)
            # The spec's own warnings (W001 …) belong in the report too, before the plan's.
            report.diagnostics[:0] = spec.diagnostics
            report.shard, report.rules = shard_info, rules
            report.workspace, report.base_dir = project.workspace, os.getcwd()
            emit(report, args.format, getattr(args, "output", None))
        if args.verbose:
            error_console().print(f"finished in {report.duration_ms:.1f} ms")
        return EXIT_OK if report.ok else EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    return execute(args)


def add_run_arguments(p: argparse.ArgumentParser, *, upstream: bool) -> None:
    p.add_argument("file", nargs=None if upstream else "?", help="the .hie spec (default: ./hielements.hie)")
    p.add_argument("-w", "--workspace", help="workspace root (default: the spec file's directory)")
    p.add_argument("-f", "--format", choices=["human", "json"] if upstream else FORMATS, default="human")
    p.add_argument("--dry-run", action="store_true", help="list elements, scopes, refs and checks; run nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="trace progress on stderr")
    p.add_argument("--filter", help="only run checks of elements whose path contains this text")
    p.add_argument("--limit", type=int, help="stop after this many results")
    if upstream:
        return
    p.add_argument("-j", "--jobs", type=int, default=0, help="checks run in parallel (default: cores)")
    p.add_argument("-o", "--output", help="write the json/junit/github report to this file")
    p.add_argument("--no-cache", action="store_true", help="ignore the result store: run every check")
    p.add_argument("--refresh", action="store_true", help="run every check and rewrite the result store")
    p.add_argument("--cache-dir", help="result store directory (default: $HIE_TASKS_CACHE_DIR or WS/.hie-cache)")
    p.add_argument("--module-cache", help="compiled-module cache directory (default: $HIE_TASKS_MODULE_CACHE)")
    p.add_argument("--shard", metavar="I/N",
                   help="run only the I-th of N balanced parts of the plan (1-based; default: $HIE_TASKS_SHARD); "
                        "merge the parts' -f json reports with `hie-tasks merge`")
    p.add_argument("--durations", metavar="REPORT",
                   help="with --shard: balance by the check durations in this JSON report (e.g. the last merged "
                        "one) instead of the result store's; every shard must use the same")


def add_parser(subparsers: Any, name: str = "run", help: str = "run the spec's checks") -> None:
    p = subparsers.add_parser(name, help=help)
    add_run_arguments(p, upstream=False)
    p.set_defaults(func=run)


def check_arguments(args: argparse.Namespace) -> None:
    if getattr(args, "jobs", 0) and args.jobs < 0:
        raise CliError("--jobs must be a positive number", 2)
    if args.limit is not None and args.limit < 0:
        raise CliError("--limit must be zero or more", 2)
    _check_shard_arguments(args)


def _check_shard_arguments(args: argparse.Namespace) -> None:
    if not hasattr(args, "shard"):
        return  # the upstream drop-in has no sharding
    from hie_tasks.engine.shard import ShardError, parse_shard, shard_from_env

    given = shard_from_env(args.shard)
    args.shard_spec = None
    if given is None:
        if args.durations is not None:
            raise CliError("--durations only applies to a sharded run", help="add --shard I/N")
        return
    try:
        args.shard_spec = parse_shard(*given)
    except ShardError as exc:
        raise CliError(str(exc), help="e.g. --shard 1/4 … --shard 4/4, or HIE_TASKS_SHARD=2/4") from None
    if args.limit is not None:
        raise CliError("--limit cannot be combined with --shard: each shard would stop at its own limit and the "
                       "merged report would miss checks", help="drop --limit, or run without --shard")

