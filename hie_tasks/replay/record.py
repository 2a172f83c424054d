"""Writing a run's memo (hie_tasks/replay/memo.py): the answer its next run would print and what that rests on.

`replay_form` turns this run's report into the next run's: every outcome replayed from the local store, with
the duration its verdict was recorded with. `Capture` (partial.py) stands in for stdout and stderr while the
command renders that report exactly as it renders a live one. `remember` gathers the inputs — the project's
spec and plan caches vouch for what planning read, the session for what every check's fingerprint and
recorded dependencies cover, the libraries for their modules and programs — and writes the memo, or removes
the request's old one and says why not. For a `-f json` or human run it also keeps what a partial rerun
needs: which checks rest on each file, each check as planned, and how the answer is put together again.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any

from hie_tasks.engine.results import RunReport, Totals
from hie_tasks.engine.runner import check_key
from hie_tasks.incremental.plancache import DirSignature, Uncacheable, walk_signatures
from hie_tasks.replay import memo
from hie_tasks.replay.memo import Request
from hie_tasks.replay.partial import Blob, Capture, Checks, Owners, encode_check, offsets, outcome_data

if TYPE_CHECKING:
    from hie_tasks.engine.planned import Plan
    from hie_tasks.engine.project import Project


def replay_form(report: RunReport) -> RunReport:
    """The report of the same run replayed: every check from the local store, the run phase's duration the
    memo's sentinel."""
    outcomes = [copy.copy(o) for o in report.outcomes]
    totals = Totals(skipped=report.totals.skipped)
    for outcome in outcomes:
        outcome.cached, outcome.cache_source = True, "local"
        totals.add(outcome)
    return report.replace(outcomes=outcomes, totals=totals, duration_ms=memo.SENTINEL_MS)


def remember(req: Request, *, project: Project, plan: Plan, exit_code: int, stdout: Capture, stderr: Capture,
             implicit_spec: bool, fmt: str = "human", replayed: RunReport | None = None, label: str = ""
             ) -> str | None:
    """Write `req`'s memo; returns why not (its old memo is then removed), or None. `replayed`: the report
    as replayed, which the memo of a `-f json` or human run keeps for rerunning the checks of a few edited
    files; `label`: the spec as the human header names it."""
    why = _why_not(req, project)
    found = _inputs(req, project, plan, implicit_spec) if why is None else why
    if isinstance(found, str):
        memo.remove(req)
        return found
    files, dirs, absent, nofiles, planning = found
    encodings = ((stdout.encoding, stdout.errors), (stderr.encoding, stderr.errors))
    digester = project.session().digester
    blob = None
    if fmt in ("json", "human") and replayed is not None:
        layout = (_json_layout(replayed, stdout.text(), encodings[0]) if fmt == "json"
                  else ("human", label, [outcome_data(o) for o in replayed.outcomes]))
        if layout is not None and not (fmt == "human" and plan.diagnostics):
            blob = _partial(project, plan, replayed, layout, encodings[0], files, planning)
    return memo.write(req, exit_code=exit_code, stdout=stdout.text(), stderr=stderr.text(), encodings=encodings,
                      files=files, observed=digester.stats, dirs=dirs, absent=absent, nofiles=nofiles,
                      racy_window_ns=digester.racy_window_ns, partial=blob)


def _json_layout(replayed: RunReport, stdout: str, encoding: tuple[Any, Any]) -> tuple[Any, ...] | None:
    """Where each result entry lies in the memo's answer of a `-f json` run (hie_tasks/replay/partial.py)."""
    import codecs

    from hie_tasks.output.json_report import RESULT_SEPARATOR, result_text, split_render

    split, cut = split_render(replayed), memo.split_slot(stdout)
    if split is None or cut is None or len(cut[0]) != 2:
        return None
    enc, errors = encoding[0] or "utf-8", encoding[1] or "strict"
    try:
        if codecs.lookup(enc).name != "utf-8":
            return None  # entries are encoded one by one: only for a codec without state
        entries = [result_text(o).encode(enc, errors) for o in replayed.outcomes]
        after_slot = memo.split_slot(split[0])
        if after_slot is None or len(after_slot[0]) != 2:
            return None
        after = after_slot[0][1].encode(enc, errors)
        whole = cut[0][1].encode(enc, errors)
        separator = RESULT_SEPARATOR.encode(enc, errors)
    except (UnicodeError, LookupError):
        return None
    if not whole.startswith(after + separator.join(entries)):
        return None
    return ("json", *offsets(after, entries, separator))


def _partial(project: Project, plan: Plan, replayed: RunReport, layout: tuple[Any, ...],
             encoding: tuple[Any, Any], files: dict[str, str | None], planning: set[str]) -> memo.Partial | None:
    """What rerunning the checks of a few edited files needs (hie_tasks/replay/partial.py), or None."""
    import hie_tasks.libraries.builtin as builtin
    from hie_tasks.libraries.builtin import CLASSES

    runnable = [c for c in plan.checks if not c.skipped]
    if not runnable or len(runnable) != len(replayed.outcomes) or any(c.library is None for c in runnable):
        return None
    registry = project.registry()
    builtins = []
    for name, cls in CLASSES.items():
        library = registry.get(name)
        if library is not None and type(library) is getattr(builtin, cls) and library.name == name:
            builtins.append(name)
    session = project.session()
    owners: dict[str, list[int]] = {}
    for pos, check in enumerate(runnable):
        found = session.next_run_inputs([check_key(check)], project.workspace)
        if found is None:
            return None
        for path in found[0]:
            owners.setdefault(path, []).append(pos)
    aligned = [None if path in planning or path not in owners else tuple(owners[path]) for path in sorted(files)]
    blob = Blob(workspace=project.workspace, workspace_text=project.workspace_text, owners=Owners.of(aligned),
                checks=Checks.of([encode_check(c) for c in runnable]), statuses=[o.status.value for o in replayed.outcomes],
                skipped=replayed.totals.skipped, builtins=tuple(builtins), jobs=project.options.run.jobs,
                encoding=encoding, layout=layout)
    return blob.dumps()


def _why_not(req: Request, project: Project) -> str | None:
    options = project.options
    if not options.use_store or options.refresh:
        return "no result store in use"
    if project.result_cache_dir() != req.cache_dir:
        return "the store is not where the command line puts it"
    if project.session().remote is not None:
        return "a remote cache is attached"
    return None


#: (files with the digest the run used, directories, paths naming nothing, paths naming no file, the files
#: planning read: spec, config, plugins, selectors' reads)
_Inputs = tuple[dict[str, str | None], dict[str, DirSignature], set[str], set[str], set[str]]


def _inputs(req: Request, project: Project, plan: Plan, implicit_spec: bool) -> _Inputs | str:
    vouched = project.vouched_inputs()
    if vouched is None:
        return "the spec or the plan was not kept"
    keys = [check_key(p) for p in plan.checks if not p.skipped]
    found = project.session().next_run_inputs(keys, project.workspace)
    if found is None:
        return "a check would run again"
    files, trees = found
    dirs: dict[str, DirSignature] = {}
    absent: set[str] = set()
    nofiles: set[str] = set()
    #: plugins and the config, vouched for by their stat alone (a racy one means no memo)
    stat_only: set[str] = set()
    for record in vouched:
        dirs.update(record.dirs)
        absent |= record.absent
        nofiles |= record.nofiles
    libraries = {id(p.library): p.library for p in plan.checks if p.library is not None}
    for library in libraries.values():
        stat_only.update(library.identity_files())
        nofiles.update(library.identity_absent())
    config = project.load_config().file
    if config:
        stat_only.add(config)
    else:
        nofiles.add(os.path.join(project.workspace, "hielements.toml"))
    limit = req.started_ns - project.session().digester.racy_window_ns
    listed: list[str] = []
    try:
        for tree in sorted(trees, key=lambda t: (t.root, t.suffixes, t.exclude)):
            walk_signatures(tree, dirs, listed, limit, req.cache_dir)
    except Uncacheable as exc:
        return str(exc)
    if implicit_spec:
        # Found by listing the working directory: a second *.hie there changes which spec runs. (A directory
        # changed within the racy window is refused by `memo.write`.)
        cwd = os.getcwd()
        sig = memo.dir_sig(cwd)
        if sig is None:
            return f"the working directory {cwd} cannot be stat'ed"
        dirs[cwd] = sig
    absent.update(listed)
    planning = set(stat_only)
    for record in vouched:
        files.update(record.deps)
        planning.update(record.deps)
    files.update(dict.fromkeys(stat_only))
    return files, dirs, absent, nofiles, planning

