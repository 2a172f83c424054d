"""`run` (and `check` in hie-tasks): validate, then execute the spec's checks against a workspace."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, Protocol

from hie_tasks.cli.common import (
    COLOR_CHOICES,
    DEFAULT_SPEC_RULE,
    EXIT_FAILED,
    EXIT_NOTHING_SELECTED,
    EXIT_OK,
    CliError,
    check_output_path,
    check_workspace,
    console,
    error_console,
    plain_console,
    print_diagnostics,
    print_late_warnings,
    resolve_spec,
    set_color,
    write_output,
)
from hie_tasks.cli.loading import load_spec_or_exit
from hie_tasks.engine.checksites import element_paths
from hie_tasks.engine.project import ProjectOptions
from hie_tasks.engine.runner import RunOptions
from hie_tasks.output.formats import FORMATS, format_help

if TYPE_CHECKING:
    from hie_tasks.engine.planned import Plan
    from hie_tasks.engine.project import Project
    from hie_tasks.engine.results import CheckOutcome, RuleDoc, RunReport, ShardInfo
    from hie_tasks.engine.runner import ProgressCallback
    from hie_tasks.lang.loader import SpecSet

    class SpecLoader(Protocol):
        """`load_spec_or_exit`'s signature (the daemon passes its own)."""

        def __call__(self, spec_path: str, workspace: str | None, as_json: bool, options: ProjectOptions | None, /,
                     *, calls: str = ...) -> tuple[SpecSet, Project]: ...

# Only what `run -f json` needs is imported at module level: rich (human output, messages) and the other
# report formats load on the paths that use them, because start-up dominates a run that replays everything.



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
    """A machine format to stdout, or to `-o FILE` with the summary line on the terminal."""
    from hie_tasks.output import formats

    if fmt not in formats.MACHINE_FORMATS:
        return  # human: the terminal reporter prints as the run goes
    text = formats.render(fmt, report)
    if output:
        write_output(output, text)
        print_report_written(report, output)
    else:
        sys.stdout.write(text + "\n")


def print_report_written(report: RunReport, output: str) -> None:
    from rich.text import Text

    from hie_tasks.output.human import summary_line

    if report.spec_invalid:
        line = f"✗ the spec has {len(report.errors)} error(s); no checks were run"
    else:
        line = summary_line(report)
    console().print(Text(line, style="bold green" if report.ok else "bold red"),
                    Text(f"(report: {output})", style="dim"))


def _print_store_warnings(warnings: list[str]) -> None:
    if not warnings:
        return  # rich is imported only when there is something to say (start-up counts in a no-op run)
    from rich.text import Text

    for warning in warnings:
        # The store's own messages already start with "warning:"; never print the prefix twice.
        text = warning if warning.startswith("warning:") else f"warning: {warning}"
        error_console().print(Text(text, style="yellow"))


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


def execute(args: argparse.Namespace, *, upstream: bool = False, loader: SpecLoader | None = None) -> int:
    """`loader` replaces `load_spec_or_exit`: the daemon runs this very function on its warm project."""
    check_arguments(args, upstream=upstream)
    spec_path = resolve_spec(args.file)
    options = project_options(args, upstream=upstream)
    machine = args.format != "human"
    output: str | None = getattr(args, "output", None)
    spec, project = (loader or load_spec_or_exit)(spec_path, None, machine, options,
                                                  calls="warnings" if upstream else "errors")
    with project:
        if spec.diagnostics:
            print_diagnostics(error_console(), spec.diagnostics, spec.sources)
        if any(d.is_error for d in spec.diagnostics):
            from rich.text import Text

            if machine:
                from hie_tasks.engine.results import RunReport

                # CI reads the report, not the terminal: it must say why nothing ran.
                emit(RunReport(diagnostics=list(spec.diagnostics), spec_invalid=True), args.format, output)
            errors = sum(d.is_error for d in spec.diagnostics)
            error_console().print(Text(f"✗ {spec_path} has {errors} error{'s' * (errors != 1)}; no checks were run",
                                       style="bold red"))
            return EXIT_FAILED
        if args.filter is not None and not any(args.filter in path for path in element_paths(spec.programs)):
            from rich.text import Text

            known = ", ".join(element_paths(spec.programs)) or "none"
            error_console().print(Text(f"no element matches --filter '{args.filter}'; no checks were run",
                                       style="bold yellow"))
            error_console().print(f"  elements: {known}", markup=False)
            if not upstream:
                return EXIT_NOTHING_SELECTED
        if args.dry_run:
            _dry_run(spec)
            return EXIT_OK
        if args.verbose:
            error_console().print(f"workspace: {project.workspace}", markup=False)
            if project.options.use_store:
                error_console().print(f"result store: {project.result_cache_dir()}", markup=False)
        from hie_tasks.libraries.limits import run_deadline

        run_deadline.start(getattr(args, "timeout", None))
        _attach_remote(project, args, upstream)
        plan = project.plan(spec)
        plan, shard_info, rules = _ci_plan(args, project, spec, spec_path, plan)
        _print_store_warnings(project.store_warnings)
        if args.format == "human":
            label = spec_path if shard_info is None else f"{spec_path}, shard {shard_info.index}/{shard_info.count}"
            report = _run_human(args, label, spec, project, plan, output)
        else:
            if plan.diagnostics and args.verbose:
                print_diagnostics(error_console(), plan.diagnostics, spec.sources)
            report = project.run_plan(plan, verbose_trace(None) if args.verbose else None)
            # The spec's own warnings (W001 …) belong in the report too, before the plan's.
            report.diagnostics[:0] = spec.diagnostics
            report.shard, report.rules = shard_info, rules
            report.workspace, report.base_dir = project.workspace, os.getcwd()
            emit(report, args.format, output)
        late = project.late_warnings()
        print_late_warnings(late)
        if args.verbose:
            error_console().print(f"finished in {report.duration_ms:.1f} ms")
        code = EXIT_OK if report.ok else EXIT_FAILED
        if loader is None and not upstream:
            _remember(args, spec_path, spec, project, plan, report, code,
                      quiet_stderr=not late and not project.store_warnings and shard_info is None)
        return code


def _remember(args: argparse.Namespace, spec_path: str, spec: SpecSet, project: Project, plan: Plan,
              report: RunReport, code: int, *, quiet_stderr: bool) -> None:
    """The run memo (hie_tasks/replay): what the next identical `run` prints while nothing changed, rendered
    here as a replaying run renders it."""
    from hie_tasks.replay import memo

    req = memo.current()
    if req is None:
        return
    if not quiet_stderr:
        memo.remove(req)  # this run printed warnings a replay would not repeat
        return
    from hie_tasks.replay.partial import Capture
    from hie_tasks.replay.record import remember, replay_form

    replayed = replay_form(report)
    out, err = Capture(sys.stdout), Capture(sys.stderr)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        if spec.diagnostics:
            print_diagnostics(error_console(), spec.diagnostics, spec.sources)
        if args.format == "human":
            _run_human(args, spec_path, spec, project, plan, None, replaying=replayed)
        else:
            emit(replayed, args.format, None)
    finally:
        sys.stdout, sys.stderr = saved
    remember(req, project=project, plan=plan, exit_code=code, stdout=out, stderr=err,
             implicit_spec=args.file is None, fmt=args.format, replayed=replayed, label=spec_path)


def _run_human(
    args: argparse.Namespace, spec_path: str, spec: SpecSet, project: Project, plan: Plan, output: str | None,
    replaying: RunReport | None = None,
) -> RunReport:
    """`replaying`: print this finished report as the run would have printed it, running nothing."""
    from hie_tasks.output.human import HumanReporter

    quiet = getattr(args, "quiet", False)
    # With -o the whole human report goes to the file as plain text; the terminal gets the summary line.
    sink = open(output, "w", encoding="utf-8") if output else None  # noqa: SIM115 - closed below
    try:
        reporter = HumanReporter(
            plain_console(sink) if sink else console(), show_passed=not quiet, summarize_replayed=not args.verbose
        )
        with reporter:
            if not quiet:
                reporter.header(spec_path, project.workspace, sum(not c.skipped for c in plan.checks))
            if plan.diagnostics:
                reporter.diagnostics(plan.diagnostics, spec.sources)
            if replaying is not None:
                reporter.on_outcomes(replaying.outcomes)
                report = replaying
            else:
                report = project.run_plan(
                    plan, verbose_trace(reporter.on_outcome) if args.verbose else reporter.on_outcome
                )
            reporter.summary(report, cache_line=not quiet)
    except OSError as exc:
        raise CliError(f"cannot write the report to {output}: {exc.strerror or exc}") from None
    finally:
        if sink is not None:
            sink.close()
    if output:
        print_report_written(report, output)
    return report


def _attach_remote(project: Project, args: argparse.Namespace, upstream: bool) -> None:
    """The shared verdict cache (hie_tasks.remote) behind the session, when one is configured."""
    if upstream or not project.options.use_store:
        return
    from hie_tasks.remote.attach import RemoteSettingsError, attach

    def warn(text: str) -> None:
        # rich only when there is something to say: without a remote cache this is every run's start-up.
        from rich.text import Text

        error_console().print(Text(f"warning: {text}", style="yellow"))

    try:
        attach(project.session(), project.workspace, project.load_config().cache, args, warn)
    except RemoteSettingsError as exc:
        raise CliError(str(exc), 2) from None


def run(args: argparse.Namespace) -> int:
    return execute(args)


def add_run_arguments(p: argparse.ArgumentParser, *, upstream: bool) -> None:
    p.add_argument("file", nargs=None if upstream else "?",
                   help="the .hie spec" + ("" if upstream else f" ({DEFAULT_SPEC_RULE}; a directory: all its *.hie)"))
    p.add_argument("-w", "--workspace", help="workspace root (default: the spec file's directory)")
    formats = ["human", "json"] if upstream else FORMATS
    p.add_argument("-f", "--format", choices=formats, default="human", metavar="FORMAT", help=format_help(formats))
    p.add_argument("--dry-run", action="store_true", help="list elements, scopes, refs and checks; run nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="trace progress on stderr")
    p.add_argument("--filter", help="only run checks of elements whose path contains this text")
    p.add_argument("--limit", type=int, help="stop after this many results")
    if upstream:
        return
    p.add_argument("-j", "--jobs", type=int, default=0, help="external plugin calls in parallel, one plugin process each (default: 4 when any must run)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="bound the whole run: checks not finished by then end as Error (plugin calls are cut short)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the report (any format) to FILE; the terminal still gets the summary line")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures, errors and the summary")
    p.add_argument("--color", choices=COLOR_CHOICES, default="auto",
                   help="colour the output: auto (a terminal, unless NO_COLOR is set), always, never")
    p.add_argument("--no-cache", action="store_true", help="ignore the result store: run every check")
    p.add_argument("--refresh", action="store_true", help="run every check and rewrite the result store")
    p.add_argument("--cache-dir", help="result store directory (default: $HIE_TASKS_CACHE_DIR or WS/.hie-cache)")
    p.add_argument("--module-cache", help="compiled-module cache directory (default: $HIE_TASKS_MODULE_CACHE)")
    from hie_tasks.remote.attach import add_arguments

    add_arguments(p)
    p.add_argument("--shard", metavar="I/N",
                   help="run only the I-th of N balanced parts of the plan (1-based; default: $HIE_TASKS_SHARD); "
                        "merge the parts' -f json reports with `hie-tasks merge`")
    p.add_argument("--durations", metavar="REPORT",
                   help="with --shard: balance by the check durations in this JSON report (e.g. the last merged "
                        "one) instead of the result store's; every shard must use the same")


def add_parser(subparsers: Any, name: str = "run", help: str = "run the spec's checks") -> None:
    p = subparsers.add_parser(name, help=help, description=f"{help[0].upper()}{help[1:]}. The spec: {DEFAULT_SPEC_RULE}."
                              " Exit codes: 0 all passed, 1 a failure or error, 2 a usage or input problem,"
                              " 5 --filter matched no element.")
    add_run_arguments(p, upstream=False)
    p.set_defaults(func=run)


def check_arguments(args: argparse.Namespace, *, upstream: bool = False) -> None:
    if getattr(args, "jobs", 0) and args.jobs < 0:
        raise CliError("--jobs must be a positive number", 2)
    if args.limit is not None and args.limit < 0:
        raise CliError("--limit must be zero or more", 2)
    if getattr(args, "timeout", None) is not None and not args.timeout > 0:
        raise CliError("--timeout must be a positive number of seconds", 2)
    set_color(getattr(args, "color", "auto"))
    if upstream:
        # Upstream runs whatever -w says; the drop-in keeps its exit codes and only says what is wrong.
        try:
            check_workspace(args.workspace)
        except CliError as exc:
            error_console().print(f"warning: {exc.message}", markup=False)
        return
    check_workspace(args.workspace)
    check_output_path(getattr(args, "output", None))
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

