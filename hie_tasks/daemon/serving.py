"""A `run` request executed on the daemon's warm state, through the code of a standalone run.

The answer must be what `hie-tasks run` would print by itself, durations aside. So the request's command
line is parsed by the real parser and executed by the real `cmd_run.execute`, in the caller's working
directory, with the caller's output-related environment and terminal facts, writing into buffers; only
the loading is different: `execute` gets the daemon's spec and a `WarmProject` whose plan and report are
the ones the watch cycle keeps current.

What makes the warm report the one a fresh run would give:
- before answering, the journal is brought up to date (`Watcher.catch_up`: a barrier event proves every
  earlier change has arrived), control files are compared by stat, and the result store's files too (a
  `cache clear` or another run changes what a fresh run would replay) — the last two force a full cycle;
- a fresh run replays what the store holds: a report whose checks ran in an earlier cycle is turned into
  the next run's view by one more cycle, which carries recorded verdicts over as replayed and reruns what
  a fresh run would rerun (errors, impure libraries); a cycle run for this very request is already that;
- anything the warm state does not cover — a broken spec or config, an option such as `--no-cache`, a
  different cache directory, a store that could not be opened — is declined, and the client runs standalone.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hie_tasks.daemon.protocol import RENDER_ENV, identity_env
from hie_tasks.diagnostics import Diagnostic
from hie_tasks.engine.planned import Plan
from hie_tasks.engine.project import (
    Project,
    ProjectOptions,
    default_workspace,
    default_workspace_text,
    ignore_in_git,
)
from hie_tasks.engine.results import RunReport
from hie_tasks.incremental.session import IncrementalSession
from hie_tasks.lang.loader import SpecSet
from hie_tasks.libraries.registry import Registry
from hie_tasks.watch.cycle import CycleRunner
from hie_tasks.watch.loop import Watcher

if TYPE_CHECKING:
    from hie_tasks.engine.runner import ProgressCallback

#: Parsed command lines kept (a user types a handful of them; the memo is cleared when it is full).
_PARSED_KEPT = 64


class Declined(Exception):
    """The daemon does not serve this request; the reason goes back to the client (and `status`)."""


class _Stream(io.TextIOBase):
    """One of the caller's output streams: chunks in write order, the caller's terminal facts."""

    def __init__(self, fd: int, chunks: list[list[Any]], facts: dict[str, Any]) -> None:
        super().__init__()
        self._fd = fd
        self._chunks = chunks
        self._tty = bool(facts.get("tty"))
        self._encoding = str(facts.get("encoding") or "utf-8")

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def isatty(self) -> bool:
        return self._tty

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            if self._chunks and self._chunks[-1][0] == self._fd:
                self._chunks[-1][1] += text
            else:
                self._chunks.append([self._fd, text])
        return len(text)


class WarmProject(Project):
    """The project `execute` sees: the daemon's config, plan and report; closing it closes nothing."""

    def __init__(self, runner: CycleRunner) -> None:
        super().__init__(runner.project.spec_path, runner.project.options)
        self._runner = runner
        self.config = runner.project.config
        self.config_warnings = list(runner.project.config_warnings)

    def registry(self) -> Registry:
        return self._runner.project.registry()

    def session(self) -> IncrementalSession:
        # The warm session and its store: `execute` asks for a session (to put a remote cache behind it), and
        # a store opened for each answer, never closed, cost two file descriptors per request.
        return self._runner.project.session()

    def plan(self, spec: SpecSet) -> Plan:
        assert self._runner.plan is not None
        return self._runner.plan

    def run_plan(self, plan: Plan, progress: ProgressCallback | None = None) -> RunReport:
        report = self._runner.last_report
        assert report is not None
        if progress is not None:
            total = len(report.outcomes)
            for done, outcome in enumerate(report.outcomes, 1):
                progress(outcome, done, total)
        return report

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _as_caller(cwd: str, env: dict[str, str], stdout: _Stream, stderr: _Stream,
               size: list[int] | None) -> Iterator[None]:
    """The process looks like the caller's for the duration: cwd, output environment, std streams."""
    saved_env = {k: os.environ.get(k) for k in RENDER_ENV}
    saved_cwd = os.getcwd()
    saved_streams = sys.stdout, sys.stderr
    try:
        for key in RENDER_ENV:
            if key in env:
                os.environ[key] = env[key]
            else:
                os.environ.pop(key, None)
        if size is not None:
            # A terminal's size is asked of the terminal; the daemon has none, so it is passed on.
            os.environ.setdefault("COLUMNS", str(size[0]))
            os.environ.setdefault("LINES", str(size[1]))
        os.chdir(cwd)
        sys.stdout, sys.stderr = stdout, stderr
        yield
    finally:
        sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class RunService:
    """Answers run requests for one Watcher (the daemon's, or `watch`'s)."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.identity_env = identity_env(os.environ)
        self.served = 0
        self.declined = 0
        self.last_declined: str | None = None
        #: the last answer's output, kept for the next identical request on the same report (a no-op run
        #: re-asked is answered without rendering thousands of results again)
        self._rendered: tuple[RunReport | None, tuple[object, ...], dict[str, Any], bytes] | None = None
        self._parsed: dict[tuple[tuple[str, ...], str], argparse.Namespace] = {}
        #: the spec's diagnostics after its calls were resolved: (spec, project, mode, diagnostics)
        self._resolved: tuple[SpecSet, Project, str, list[Diagnostic]] | None = None

    # ------------------------------------------------------------------ checks

    def _parse(self, argv: list[str], cwd: str) -> argparse.Namespace:
        # Building the parser costs more than the rest of a no-op answer; what it makes of a command line
        # depends on nothing else (the environment is the daemon's own: see the identity check).
        key = (tuple(argv), cwd)
        parsed = self._parsed.get(key)
        if parsed is None:
            from hie_tasks.cli.main import build_parser

            sink: list[list[Any]] = []
            stream = _Stream(2, sink, {})
            try:
                with _as_caller(cwd, {}, stream, stream, None):
                    parsed = build_parser(argv).parse_args(argv)
            except SystemExit as exc:
                raise Declined("the command line does not parse") from exc
            if len(self._parsed) >= _PARSED_KEPT:
                self._parsed.clear()
            self._parsed[key] = parsed
        return copy.copy(parsed)  # `execute` may set attributes on its namespace

    def _check_servable(self, args: argparse.Namespace, cwd: str) -> None:
        from hie_tasks.cli.common import CliError, resolve_spec

        runner = self.watcher.runner
        project = runner.project
        if getattr(args, "command", None) not in ("run", "check"):
            raise Declined("not a run")
        if args.no_cache or args.refresh or args.filter is not None or args.limit is not None:
            raise Declined("an option the daemon does not keep warm (--no-cache, --refresh, --filter, --limit)")
        try:
            with _as_caller(cwd, {}, _Stream(2, [], {}), _Stream(2, [], {}), None):
                given = resolve_spec(args.file)
                spec_path = os.path.realpath(given)
                workspace = os.path.realpath(default_workspace(given, args.workspace))
                cache_dir = os.path.abspath(args.cache_dir) if args.cache_dir else None
                module_cache = os.path.abspath(args.module_cache) if args.module_cache else None
        except (CliError, OSError) as exc:
            raise Declined("the spec cannot be resolved") from exc
        if spec_path != os.path.realpath(project.spec_path) or workspace != os.path.realpath(project.workspace):
            raise Declined("another spec or workspace")
        if given != project.spec_path:
            # Messages and locations print the spec path as it was given: `hielements.hie` and
            # `./hielements.hie` name the same file in different words.
            raise Declined(f"the spec is named {given!r} here and {project.spec_path!r} in the daemon")
        if default_workspace_text(given, args.workspace) != project.workspace_text:
            # Messages spell file paths from the workspace as it was named (`./src/a.py` vs `/repo/src/a.py`).
            raise Declined("the workspace is named in other words here than in the daemon")
        resolved = ProjectOptions(workspace=workspace, cache_dir=cache_dir)
        if Project(spec_path, resolved).result_cache_dir() != project.result_cache_dir():
            raise Declined("another result store")
        if module_cache is not None and module_cache != project.options.module_cache_dir:
            raise Declined("another module cache")
        from hie_tasks.remote.settings import RemoteSettingsError, resolve

        try:
            remote = resolve(project.workspace, project.config.cache if project.config is not None else None)
        except RemoteSettingsError as exc:
            raise Declined("the remote cache settings are in error") from exc
        if remote is not None:
            # Its verdicts (and their counts in the report) come from a server the warm cycles never asked.
            raise Declined("a remote verdict cache is configured")

    def _bring_up_to_date(self) -> None:
        watcher, runner = self.watcher, self.watcher.runner
        store_changed = runner.current_store_signature() != runner.store_signature
        ran_now = watcher.catch_up(runner.changed_control_files(), lost=store_changed)
        if runner.broken or runner.last_error is not None:
            raise Declined("the spec or the configuration does not load")
        if runner.last_report is None or runner.plan is None:
            raise Declined("nothing has run yet")
        if not runner.diagnostics_current():
            # A load failure or a plugin's finding may have been cured by something no event reports (a
            # plugin installed on PATH); a standalone run derives them afresh.
            raise Declined("the plan carries diagnostics the daemon cannot keep current")
        if runner.reader() is None:
            raise Declined("the result store is not available")
        # A cycle run for this request is what a fresh run would do now; one from before it has since
        # recorded its verdicts, which a fresh run would replay.
        if not ran_now and runner.replay_differs():
            runner.run_cycle(max(1, watcher.cycles), {})
            if runner.last_error is not None:
                raise Declined("the cycle failed")

    # ------------------------------------------------------------------ the request

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = self._handle(message)
        except Declined as exc:
            self.declined += 1
            self.last_declined = str(exc)
            return {"status": "declined", "reason": str(exc)}
        if answer.get("status") == "ok":
            self.served += 1
        return answer

    def _handle(self, message: dict[str, Any]) -> dict[str, Any]:
        argv, cwd, env = message.get("argv"), message.get("cwd"), message.get("env")
        if not (isinstance(argv, list) and isinstance(cwd, str) and isinstance(env, dict)):
            raise Declined("a malformed request")
        if identity_env(env) != self.identity_env:
            # Plugins, caches and keys may read any variable: a different environment is another daemon.
            return {"status": "stale", "reason": "the environment differs from the daemon's"}
        with self.watcher.lock:  # the lock also keeps cycles from running while the cwd is the caller's
            args = self._parse([str(a) for a in argv], cwd)
            self._check_servable(args, cwd)
            self._bring_up_to_date()
            return self._execute(args, cwd, env, message)

    def _execute(self, args: argparse.Namespace, cwd: str, env: dict[str, str],
                 message: dict[str, Any]) -> dict[str, Any]:
        runner = self.watcher.runner
        # Everything the output depends on: the report (a new object after any cycle), the command line
        # and where it runs, and how the caller's terminal looks. `-o` writes a file: always executed.
        key = (tuple(message["argv"]), cwd, tuple(sorted((k, v) for k, v in env.items() if k in RENDER_ENV)),
               repr(message.get("stdout")), repr(message.get("stderr")))
        rendered = self._rendered
        if rendered is not None and rendered[0] is runner.last_report and rendered[1] == key and not args.output:
            return {**rendered[2], "payload": rendered[3]}
        answer, payload = self._render(args, cwd, env, message)
        self._rendered = (runner.last_report, key, answer, payload)
        return {**answer, "payload": payload}

    def _render(self, args: argparse.Namespace, cwd: str, env: dict[str, str],
                message: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        from hie_tasks.cli import cmd_run
        from hie_tasks.cli.main import guarded

        runner = self.watcher.runner
        spec = runner.spec
        assert spec is not None
        warm = WarmProject(runner)
        # `load_spec_or_exit` puts the config's warnings first among the spec's diagnostics.
        served_spec = replace(spec, diagnostics=[*warm.config_warnings, *spec.diagnostics])

        def loader(_path: str, _ws: str | None, _json: bool, _opts: ProjectOptions | None, *,
                   calls: str = "errors") -> tuple[SpecSet, Project]:
            # What `load_spec_or_exit` adds: every call resolved against the (warm) libraries' catalogs.
            # That depends on the spec and the project's libraries only, both objects replaced when they
            # change, so it is done once per pair (at 2k checks it cost more than the rest of an edit's cycle).
            if calls != "off":
                from hie_tasks.cli.loading import resolve_spec_calls

                kept = self._resolved
                if kept is not None and kept[0] is spec and kept[1] is runner.project and kept[2] == calls:
                    served_spec.diagnostics[:] = kept[3]
                    if warm.options.use_store and os.path.isdir(warm.result_cache_dir()):
                        ignore_in_git(warm.result_cache_dir())  # as resolving does, should it have gone
                else:
                    resolve_spec_calls(served_spec, warm, as_errors=calls == "errors")
                    self._resolved = (spec, runner.project, calls, list(served_spec.diagnostics))
            return served_spec, warm

        chunks: list[list[Any]] = []
        out_facts, err_facts = message.get("stdout") or {}, message.get("stderr") or {}
        size = out_facts.get("size") or err_facts.get("size")
        stdout, stderr = _Stream(1, chunks, out_facts), _Stream(2, chunks, err_facts)
        try:
            with _as_caller(cwd, env, stdout, stderr, size if isinstance(size, list) else None):
                code = guarded(lambda a: cmd_run.execute(a, loader=loader), args)
        except BaseException as exc:  # SystemExit from a path that exits: the client does it standalone
            raise Declined(f"the run did not finish here ({type(exc).__name__})") from exc
        encodings = {1: stdout.encoding, 2: stderr.encoding}
        parts = [text.encode(encodings[fd], "surrogateescape") for fd, text in chunks]
        layout = [[fd, len(part)] for (fd, _text), part in zip(chunks, parts, strict=True)]
        return {"status": "ok", "exit": code, "chunks": layout}, b"".join(parts)
