"""The run memo's partial rerun: a few files edited in place, and only the checks that read them run again.

A memo (hie_tasks/replay/memo.py) answers a `run` while every input is as recorded. The commonest change
between two runs is a save: one scoped file rewritten, no listing changed. Going the full way then costs a
whole no-op (load the spec and plan, fingerprint and look up every check) to rerun two checks. So a memo of
a `-f json` run also keeps, for every file a check's verdict rests on, which checks those are, and each
check's planned form. When the only differences are such files (at most `memo.PARTIAL_MAX`), serving
rebuilds just those checks, runs them through the engine's own runner and result store (each one still
replays when its fingerprint says its inputs are as stored: a file saved back to what it was), prints the
kept report with their results put in, and writes the memo again for the next run.

What it never does: answer after a change to anything planning read (a spec file, `hielements.toml`, a
plugin, a file a selector read, a directory listing, a path that named nothing), rerun a check of a library
that is not one of the built-ins (plugins take the full way, whose planning also reports plugins that no
longer load), or print anything the full run would not: a store that warns while opening sends the run the
full way before anything ran; one that warns later sends it the full way too (the full run replays what was
recorded here and says what went wrong).

The output is the full run's, byte for byte apart from durations: the kept report's head (version, status,
totals) is rendered again with this run's totals, and the rerun checks' entries by the JSON format itself.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from hie_tasks.replay import memo

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from hie_tasks.engine.planned import PlannedCheck
    from hie_tasks.engine.results import CheckOutcome, Totals
    from hie_tasks.libraries.base import Library
    from hie_tasks.model.values import Value

FORMAT = 1
#: The built-in libraries by name: module and class (a configured library under one of these names is not one).
BUILTINS = {
    "files": ("hie_tasks.libraries.builtin.files", "FilesLibrary"),
    "python": ("hie_tasks.libraries.builtin.python", "PythonLibrary"),
    "rust": ("hie_tasks.libraries.builtin.rust", "RustLibrary"),
}
EXIT_OK, EXIT_FAILED = 0, 1


# ---------------------------------------------------------------------------------------------- values


def encode_value(value: Value) -> Any:
    """A check argument as marshal data: a Scope is a tuple, a list a list, a connection point the
    codec's tagged dict; scalars stand for themselves."""
    from hie_tasks.model.values import ConnectionPoint, Scope

    if isinstance(value, Scope):
        return (value.kind.tag.value, value.kind.text, value.resolved, tuple(value.paths))
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, ConnectionPoint):
        from hie_tasks.model.codec import encode_value as tagged

        return tagged(value)
    return value


def decode_value(data: Any) -> Value:
    from hie_tasks.model.values import Scope, ScopeKind, ScopeKindTag

    if isinstance(data, tuple):
        tag, text, resolved, paths = data
        return Scope(ScopeKind(ScopeKindTag(tag), text), tuple(paths), bool(resolved))
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if isinstance(data, dict):
        from hie_tasks.model.codec import decode_value as tagged

        return tagged(data)
    return data  # type: ignore[no-any-return]


def encode_check(check: PlannedCheck) -> bytes:
    assert check.library is not None
    return marshal.dumps((check.element, check.index, check.text, check.spec_file, tuple(check.span),
                          check.library.name, check.function, [encode_value(a) for a in check.args]))


def decode_check(data: bytes, library: Library) -> PlannedCheck:
    from hie_tasks.diagnostics import Span
    from hie_tasks.engine.planned import PlannedCheck

    element, index, text, spec_file, span, _name, function, args = marshal.loads(data)
    return PlannedCheck(element, index, text, spec_file, Span(*span), library, function,
                        [decode_value(a) for a in args])


def library_name(data: bytes) -> str:
    name: str = marshal.loads(data)[5]
    return name


# ---------------------------------------------------------------------------------------------- the blob


class Blob:
    """What a memo keeps for a partial rerun (marshal data inside the memo's signed body)."""

    __slots__ = ("builtins", "checks", "chunks", "encodings", "jobs", "owners", "skipped", "statuses",
                 "stderr", "tail", "workspace", "workspace_text")

    def __init__(self, *, workspace: str, workspace_text: str, owners: dict[str, tuple[int, ...]],
                 checks: list[bytes], statuses: list[str], skipped: int, chunks: list[str], tail: str,
                 builtins: tuple[str, ...], jobs: int, stderr: str, encodings: tuple[Any, Any]) -> None:
        self.workspace, self.workspace_text = workspace, workspace_text
        #: file (absolute) → positions of the checks whose verdicts rest on it; a file planning read is not here
        self.owners = owners
        #: per position in the report: the planned check (`encode_check`), its status, its JSON entry as a
        #: replaying run prints it
        self.checks, self.statuses, self.chunks = checks, statuses, chunks
        self.skipped = skipped
        #: the report after its results (diagnostics …) and the stderr the run printed before it
        self.tail, self.stderr = tail, stderr
        #: the names under which this workspace's registry holds the built-ins themselves
        self.builtins = builtins
        self.jobs, self.encodings = jobs, encodings

    def dumps(self) -> bytes:
        return marshal.dumps((FORMAT, self.workspace, self.workspace_text, self.owners, self.checks,
                              self.statuses, self.skipped, self.chunks, self.tail, self.builtins, self.jobs,
                              self.stderr, self.encodings))

    @classmethod
    def loads(cls, data: bytes) -> Blob | None:
        try:
            (fmt, workspace, workspace_text, owners, checks, statuses, skipped, chunks, tail, builtins, jobs,
             stderr, encodings) = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            return None
        if fmt != FORMAT:
            return None
        return cls(workspace=workspace, workspace_text=workspace_text, owners=owners, checks=checks,
                   statuses=statuses, skipped=skipped, chunks=chunks, tail=tail, builtins=builtins, jobs=jobs,
                   stderr=stderr, encodings=encodings)


def totals_of(statuses: list[str], skipped: int, cached: int) -> Totals:
    from hie_tasks.engine.results import Totals

    passed, failed = statuses.count("pass"), statuses.count("fail")
    return Totals(total=len(statuses), passed=passed, failed=failed, errors=len(statuses) - passed - failed,
                  skipped=skipped, cached=cached)


def render(blob: Blob, totals: Totals, duration_ms: float) -> str | None:
    """The JSON report: its head for these totals, then the kept entries, then the kept tail."""
    from hie_tasks.engine.results import RunReport
    from hie_tasks.output.json_report import RESULT_SEPARATOR, split_render

    split = split_render(RunReport(totals=totals, duration_ms=duration_ms))
    if split is None:
        return None
    return split[0] + RESULT_SEPARATOR.join(blob.chunks) + blob.tail


# ---------------------------------------------------------------------------------------------- serving


def rerun(req: memo.Request, loaded: tuple[Any, ...], edited: list[str], now: list[Any], started: float
          ) -> int | None:
    """Answer `req` after the files `edited` changed; the exit code, or None to run in full (nothing has
    been printed then)."""
    (_fmt, _key, _code, _out, _slot, _err, files, _sigs, dirs, dir_sigs, absent, nofiles, _store, racy,
     partial) = loaded
    blob = Blob.loads(partial)
    if blob is None:
        return None
    affected: set[int] = set()
    for path in edited:
        owned = blob.owners.get(path)
        if owned is None:
            return None  # planning read it (or nothing recorded it): the plan itself may change
        affected.update(owned)
    positions = sorted(affected)
    names = {library_name(blob.checks[p]) for p in positions}
    if not names <= set(blob.builtins):
        return None
    libraries = {name: _builtin(name, blob.workspace_text) for name in sorted(names)}
    planned = [decode_check(blob.checks[p], libraries[library_name(blob.checks[p])]) for p in positions]

    from hie_tasks.engine.planned import Plan
    from hie_tasks.engine.runner import Runner, RunOptions
    from hie_tasks.incremental.session import IncrementalSession
    from hie_tasks.incremental.store import ResultStore

    store, warnings = ResultStore.try_open(req.cache_dir)
    if store is None or warnings:
        if store is not None:
            store.close()
        return None
    session = IncrementalSession(store, snapshot=False)
    try:
        statuses = list(blob.statuses)
        others = totals_of([s for i, s in enumerate(statuses) if i not in affected], 0,
                           len(statuses) - len(positions))
        for library in libraries.values():
            library.begin_run()
        report = Runner(blob.workspace, session).run(Plan(checks=planned), RunOptions(jobs=blob.jobs),
                                                     others=others)
        if session.warnings or store.take_warnings():
            return None
        outcomes = report.outcomes
        for pos, outcome in zip(positions, outcomes, strict=True):
            statuses[pos] = outcome.status.value
        totals = totals_of(statuses, blob.skipped, others.cached + report.totals.cached)
        code = EXIT_OK if totals.failed == 0 and totals.errors == 0 else EXIT_FAILED
        old_chunks = blob.chunks
        blob.chunks = list(old_chunks)
        from hie_tasks.output.json_report import result_text

        for pos, outcome in zip(positions, outcomes, strict=True):
            blob.chunks[pos] = result_text(outcome)
        text = render(blob, totals, (time.perf_counter() - started) * 1000)
        if text is None:
            return None
        (out_enc, out_err), _ = blob.encodings
        try:
            data = text.encode(out_enc or "utf-8", out_err or "strict")
        except (UnicodeError, LookupError):
            return None
        try:
            memo.put(sys.stderr, blob.stderr.encode(*_codec(blob.encodings[1])))
            memo.put(sys.stdout, data)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            memo.remove(req)
            return EXIT_FAILED
        except (UnicodeError, LookupError):
            return None
        blob.statuses = statuses
        _remember(req, blob, positions, planned, outcomes, session, files, now, racy, edited,
                  dict(zip(dirs, dir_sigs, strict=True)), set(absent), set(nofiles), code)
        return code
    finally:
        session.close()
        for library in libraries.values():
            library.close()


def _codec(encoding: tuple[Any, Any]) -> tuple[str, str]:
    return encoding[0] or "utf-8", encoding[1] or "strict"


def _builtin(name: str, workspace_text: str) -> Library:
    import importlib

    module, cls = BUILTINS[name]
    factory = getattr(importlib.import_module(module), cls)
    library: Library = factory(workspace_text=workspace_text) if name == "files" else factory()
    return library


def _remember(req: memo.Request, blob: Blob, positions: list[int], planned: list[PlannedCheck],
              outcomes: list[CheckOutcome], session: Any, files: list[str], now: list[Any],
              racy: list[tuple[str, str]], edited: list[str], dirs: dict[str, Any], absent: set[str],
              nofiles: set[str], code: int) -> None:
    """The memo again, for the next run: the rerun checks' entries as a replaying run prints them, their
    inputs as they now are, every other input as verified at the start of this run."""
    from hie_tasks.engine.runner import check_key
    from hie_tasks.output.json_report import result_text

    workspace = blob.workspace
    changed = set(edited)
    kept: dict[str, str | None] = dict.fromkeys(files)
    kept.update((path, digest) for path, digest in racy if path not in changed)
    owners = {path: set(owned) for path, owned in blob.owners.items()}
    for pos, check in zip(positions, planned, strict=True):
        found = session.next_run_inputs([check_key(check)], workspace)
        if found is None:
            memo.remove(req)  # it would run again (an Error, the store failed): no answer to keep
            return
        inputs, trees = found
        if any(tree.root not in dirs for tree in trees):
            memo.remove(req)  # a listing the memo does not cover
            return
        for path, digest in inputs.items():
            if path in kept and path not in owners:
                memo.remove(req)  # planning read it too
                return
            kept[path] = digest
            owners.setdefault(path, set()).add(pos)
    for pos, outcome in zip(positions, outcomes, strict=True):
        outcome.cached, outcome.cache_source = True, "local"
        blob.chunks[pos] = result_text(outcome)
    blob.owners = {path: tuple(sorted(owned)) for path, owned in owners.items()}
    text = render(blob, totals_of(blob.statuses, blob.skipped, len(blob.statuses)), memo.SENTINEL_MS)
    if text is None:
        memo.remove(req)
        return
    # Unchanged files keep the stat verified at the start; the rerun ones the stat taken before they were read.
    observed = {path: sig for path, sig in zip(files, now, strict=True) if path not in changed}
    observed.update(session.digester.stats)
    memo.write(req, exit_code=code, stdout=text, stderr=blob.stderr, encodings=blob.encodings, files=kept,
               observed=observed, dirs=dirs, absent=absent, nofiles=nofiles,
               racy_window_ns=session.digester.racy_window_ns, partial=blob.dumps())
