"""Differential comparison of our `hielements` drop-in against the upstream binary (the oracle).

For each case (a `.hie` file in a directory) both CLIs run `check FILE --format json` and `run FILE --format
json` from that directory with `NO_COLOR=1`. What is compared, after normalisation:

- exit codes of both commands;
- `check`: status, the first error (code, line) strictly, the remaining errors as follow-on (a documented
  exception), upstream's warning codes (our own W-codes are a documented exception);
- `run`: the diagnostics JSON on an invalid spec (as `check`), else per check (element, check text, status,
  message) in order, the status and the summary counts.

Every difference gets a class. Classes starting with `exception:` are the documented exceptions of the
README's "Where we differ from upstream"; every other class is a bug. Two exceptions are established by
evidence, not assumed: a line that differs only by upstream's undercount after `### … ###` comments is mapped
back and must then agree; a result that differs where the oracle itself answers differently on repeated runs
(hash-map order) must equal one of the oracle's answers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
_DEFAULT_ORACLE = REPO.parent / "shared" / "oracle" / "hielements"

#: Codes only we emit; they change no exit code (README, "Where we differ from upstream").
OWN_WARNING = re.compile(r"^W\d{3}$")
#: Tokens as upstream's lexer sees them, as far as line breaks inside tokens go.
_SPANNING = re.compile(
    r"###[^#\n]*\n[^#]*###|##?[^\n]*|\"(?:[^\"\\]|\\[\s\S])*\"|'(?:[^'\\]|\\[\s\S])*'|[\"'][\s\S]*|[^#\"']+"
)


def oracle_path() -> Path | None:
    path = Path(os.environ.get("HIE_ORACLE", _DEFAULT_ORACLE))
    return path if path.is_file() and os.access(path, os.X_OK) else None


@dataclass
class Case:
    name: str
    cwd: Path
    file: str  # relative to cwd
    #: more arguments for `run` (how the workspace is named: `-w .`, `-w /abs`, …)
    run_args: tuple[str, ...] = ()

    def text(self) -> str:
        return (self.cwd / self.file).read_text(encoding="utf-8", errors="replace")


@dataclass
class Answer:
    rc: int
    out: str
    err: str


@dataclass
class Outcome:
    case: Case
    #: (class, detail) for every difference; an empty list means the case agrees
    diffs: list[tuple[str, str]] = field(default_factory=list)
    oracle_accepts: bool = False

    @property
    def classes(self) -> list[str]:
        return sorted({c for c, _ in self.diffs})

    @property
    def agrees(self) -> bool:
        """Agreement as the conformance rule defines it: no difference outside the documented exceptions."""
        return all(c.startswith("exception:") for c, _ in self.diffs)


# ------------------------------------------------------------------ running


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "COLUMNS": "200"}


def run_oracle(oracle: Path, case: Case, argv: Sequence[str]) -> Answer:
    proc = subprocess.run(
        [str(oracle), *argv], cwd=case.cwd, env=_env(), capture_output=True, text=True, timeout=60
    )
    return Answer(proc.returncode, proc.stdout, proc.stderr)


def run_ours(jobs: list[tuple[Case, list[str]]], *, workers: int = 2, fresh: bool = False) -> list[Answer]:
    """Our drop-in on every job: batched through `driver` (one process per chunk), or one process each."""
    if fresh:

        def one(job: tuple[Case, list[str]]) -> Answer:
            case, argv = job
            proc = subprocess.run(
                [sys.executable, "-m", "hie_tasks.cli.upstream", *argv],
                cwd=case.cwd, env=_env(), capture_output=True, text=True, timeout=120,
            )
            return Answer(proc.returncode, proc.stdout, proc.stderr)

        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, jobs))

    chunks = [jobs[i::workers] for i in range(workers)]

    def batch(chunk: list[tuple[Case, list[str]]]) -> list[Answer]:
        if not chunk:
            return []
        lines = "".join(json.dumps({"cwd": str(c.cwd), "argv": a}) + "\n" for c, a in chunk)
        proc = subprocess.run(
            [sys.executable, "-m", "tests.conformance.driver"],
            cwd=REPO, env=_env(), input=lines, capture_output=True, text=True, timeout=3600,
        )
        answers = [Answer(**json.loads(line)) for line in proc.stdout.splitlines() if line.startswith("{")]
        if len(answers) != len(chunk):
            raise RuntimeError(f"conformance driver died: {proc.stderr[-2000:]}")
        return answers

    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(batch, chunks))
    out: list[Answer] = [Answer(0, "", "")] * len(jobs)
    for w, part in enumerate(parts):
        for k, answer in enumerate(part):
            out[w + k * workers] = answer
    return out


# ------------------------------------------------------------------ normalising


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def undercount(text: str) -> list[int]:
    """For each true line (index 1…), the line upstream reports.

    Upstream's line counter advances only on newline tokens, so it misses the line breaks inside a token:
    a `### … ###` block comment or a string literal spanning lines (an unterminated one runs to the end).
    """
    text = text.replace("\r\n", "\n")
    lost_from: list[tuple[int, int]] = []
    for m in _SPANNING.finditer(text):
        breaks = m.group(0).count("\n")
        if breaks and m.group(0)[0] in "#'\"":
            lost_from.append((text.count("\n", 0, m.end()) + 1, breaks))
    total = text.count("\n") + 2
    mapping = [0] * (total + 1)
    for line in range(1, total + 1):
        mapping[line] = line - sum(b for end, b in lost_from if end <= line)
    return mapping


def _diag_key(d: dict[str, Any]) -> tuple[str, int]:
    span = d.get("span") or {}
    start = span.get("start") or {}
    return str(d.get("code")), int(start.get("line") or d.get("line") or 0)


def _diagnostics(doc: Any) -> tuple[str, list[tuple[str, int]], list[str]] | None:
    """(status, errors (code, line), upstream-comparable warning codes) of a diagnostics JSON, if it is one."""
    if not isinstance(doc, dict) or "errors" not in doc:
        return None
    errors = [_diag_key(d) for d in doc.get("errors") or []]
    warnings = [str(d.get("code")) for d in doc.get("warnings") or []]
    return str(doc.get("status")), errors, warnings


def _results(doc: Any) -> tuple[str, list[tuple[str, str, str, Any]], dict[str, Any]] | None:
    if not isinstance(doc, dict) or "results" not in doc:
        return None
    rows = [(r.get("element"), r.get("check"), r.get("status"), r.get("message")) for r in doc["results"]]
    summary = {k: (doc.get("summary") or {}).get(k) for k in ("total", "passed", "failed", "errors")}
    return str(doc.get("status")), rows, summary


# ------------------------------------------------------------------ comparing


def _compare_diagnostics(
    out: Outcome, where: str, theirs: tuple[str, list[tuple[str, int]], list[str]],
    ours: tuple[str, list[tuple[str, int]], list[str]], lines: list[int],
) -> None:
    t_status, t_err, t_warn = theirs
    o_status, o_err, o_warn = ours
    if t_status != o_status or bool(t_err) != bool(o_err):
        first = f"oracle {t_err[:1] or 'accepts'}, ours {o_err[:1] or 'accepts'}"
        out.diffs.append((f"{where}:accept/reject", first))
        return
    if t_err:
        (tc, tl), (oc, ol) = t_err[0], o_err[0]
        if tc != oc:
            out.diffs.append((f"{where}:first-error-code", f"oracle {tc}@{tl}, ours {oc}@{ol}"))
        elif tl != ol:
            mapped = lines[ol] if 0 < ol < len(lines) else ol
            cls = "exception:block-comment-lines" if mapped == tl else f"{where}:first-error-line"
            out.diffs.append((cls, f"oracle {tc}@{tl}, ours {oc}@{ol}"))
        elif t_err != o_err:
            out.diffs.append(("exception:follow-on", f"oracle {t_err}, ours {o_err}"))
    ours_w = [w for w in o_warn if not (OWN_WARNING.match(w) and w not in t_warn)]
    if sorted(t_warn) != sorted(ours_w):
        out.diffs.append((f"{where}:warnings", f"oracle {t_warn}, ours {o_warn}"))
    elif len(ours_w) != len(o_warn):
        out.diffs.append(("exception:own-warnings", f"ours also {sorted(set(o_warn) - set(t_warn))}"))


_DOT_PREFIX = re.compile(r"(?<![\w/])(?:\./)+")


def _message_class(cwd: Path, theirs: Any, ours: Any) -> str:
    """`run:message`, or a narrower class for the known `files` path-rendering difference (not an exception):
    upstream prints file paths as its workspace string joined with the selector's (`./src/a.py`,
    `././build/x`) in directory-listing order; ours prints absolute paths in sorted order."""
    if isinstance(theirs, str) and isinstance(ours, str):
        plain_t = _DOT_PREFIX.sub("", theirs)
        plain_o = _DOT_PREFIX.sub("", ours.replace(f"{cwd}/", ""))
        if plain_t == plain_o:
            return "files:path-rendering"
        if "exceeds maximum size" in theirs and "exceeds maximum size" in ours:
            return "files:listing-order"
    return "run:message"


def _compare_results(
    cwd: Path,
    out: Outcome,
    theirs: tuple[str, list[tuple[str, str, str, Any]], dict[str, Any]],
    ours: tuple[str, list[tuple[str, str, str, Any]], dict[str, Any]],
) -> list[tuple[str, str]]:
    diffs: list[tuple[str, str]] = []
    t_status, t_rows, t_sum = theirs
    o_status, o_rows, o_sum = ours
    if [r[:2] for r in t_rows] != [r[:2] for r in o_rows]:
        diffs.append(("run:results-structure", f"oracle {[r[:2] for r in t_rows]}\nours   {[r[:2] for r in o_rows]}"))
    else:
        for t, o in zip(t_rows, o_rows, strict=True):
            if t[2] != o[2]:
                diffs.append(("run:verdict", f"{t[0]} :: {t[1]}: oracle {t[2]} {t[3]!r}, ours {o[2]} {o[3]!r}"))
            elif t[3] != o[3]:
                diffs.append((_message_class(cwd, t[3], o[3]), f"{t[0]} :: {t[1]}: oracle {t[3]!r}, ours {o[3]!r}"))
    if t_sum != o_sum and not diffs:
        diffs.append(("run:summary", f"oracle {t_sum}, ours {o_sum}"))
    if t_status != o_status and not diffs:
        diffs.append(("run:status", f"oracle {t_status}, ours {o_status}"))
    return diffs


def compare_case(
    oracle: Path, case: Case, t_check: Answer, t_run: Answer, o_check: Answer, o_run: Answer
) -> Outcome:
    out = Outcome(case)
    for label, answer in (("check", o_check), ("run", o_run)):
        if answer.rc not in (0, 1, 2) or "Traceback (most recent call last)" in answer.err:
            out.diffs.append(("crash", f"{label}: rc {answer.rc}\n{answer.err[-1500:]}"))
            return out
    lines = undercount(case.text())
    t_diag, o_diag = _diagnostics(_json(t_check.out)), _diagnostics(_json(o_check.out))
    if t_diag is None or o_diag is None:
        if t_check.rc != o_check.rc or (t_diag is None) != (o_diag is None):
            out.diffs.append(("check:output", f"oracle rc {t_check.rc} {t_check.err[:200]!r}, ours rc "
                                              f"{o_check.rc} {o_check.err[:200]!r}"))
    else:
        out.oracle_accepts = t_diag[0] != "error"
        _compare_diagnostics(out, "check", t_diag, o_diag, lines)
    if t_check.rc != o_check.rc:
        out.diffs.append(("check:exit-code", f"oracle {t_check.rc}, ours {o_check.rc}"))

    t_doc, o_doc = _json(t_run.out), _json(o_run.out)
    t_res, o_res = _results(t_doc), _results(o_doc)
    #: the oracle's exit codes for this run (more than one when its answer varies from run to run)
    oracle_codes = {t_run.rc}
    if t_res is None or o_res is None:
        t_d, o_d = _diagnostics(t_doc), _diagnostics(o_doc)
        if t_d is not None and o_d is not None:
            if not any(c.startswith("check:") for c, _ in out.diffs):
                _compare_diagnostics(out, "run", t_d, o_d, lines)
        elif (t_res is None) != (o_res is None) or (t_d is None) != (o_d is None):
            out.diffs.append(("run:output-shape", f"oracle {t_run.out[:120]!r} rc {t_run.rc}, "
                                                  f"ours {o_run.out[:120]!r} rc {o_run.rc}"))
    else:
        diffs = _compare_results(case.cwd, out, t_res, o_res)
        if diffs:
            # Does the oracle itself answer differently from run to run (hash-map iteration order)? It takes
            # ~2 ms a run, so ask it up to 40 times, stopping as soon as every differing row is explained.
            seen = [t_res]

            def explained() -> bool:
                if any(len(v[1]) != len(o_res[1]) for v in seen):
                    return False
                return all(
                    any(v[1][r] == o_res[1][r] for v in seen) or len({repr(v[1][r]) for v in seen}) > 1
                    for r in range(len(o_res[1]))
                )

            for _ in range(40):
                rerun = run_oracle(oracle, case, ["run", case.file, *case.run_args, "--format", "json"])
                again = _results(_json(rerun.out))
                if again is not None:
                    oracle_codes.add(rerun.rc)  # a varying answer varies its exit code with it
                if again is not None and again not in seen:
                    seen.append(again)
                    if explained():
                        break
            if len(seen) > 1 and all(len(v[1]) == len(o_res[1]) for v in seen):
                # A row is explained when ours is one of the oracle's answers for it, or when the oracle's own
                # answers for that row vary (it picked among several scopes of one name at random); the other
                # rows are compared again on their own.
                varied = [
                    any(v[1][r] == o_res[1][r] for v in seen) or len({repr(v[1][r]) for v in seen}) > 1
                    for r in range(len(o_res[1]))
                ]
                rows = [t if ok else o for o, t, ok in zip(o_res[1], t_res[1], varied, strict=True)]
                rest = _compare_results(case.cwd, out, t_res, (o_res[0], rows, t_res[2]))
                diffs = [("exception:hash-order", f"rows differ where the oracle varies ({len(seen)} answers)")]
                diffs += [(c, d) for c, d in rest if c not in ("run:summary", "run:status")]
        out.diffs.extend(diffs)
    if o_run.rc not in oracle_codes and not any(c.startswith("run:") for c, _ in out.diffs):
        out.diffs.append(("run:exit-code", f"oracle {t_run.rc}, ours {o_run.rc}"))
    return out


def compare_all(cases: Sequence[Case], *, oracle: Path, workers: int = 2, fresh: bool = False) -> list[Outcome]:
    jobs: list[tuple[Case, list[str]]] = []
    for case in cases:
        jobs.append((case, ["check", case.file, "--format", "json"]))
        jobs.append((case, ["run", case.file, *case.run_args, "--format", "json"]))
    with ThreadPoolExecutor(4) as pool:
        theirs = list(pool.map(lambda job: run_oracle(oracle, job[0], job[1]), jobs))
    ours = run_ours(jobs, workers=workers, fresh=fresh)
    return [
        compare_case(oracle, case, theirs[2 * i], theirs[2 * i + 1], ours[2 * i], ours[2 * i + 1])
        for i, case in enumerate(cases)
    ]


def table(outcomes: Iterable[Outcome]) -> str:
    """Mismatch classes with counts, agreement rate and one example each."""
    outcomes = list(outcomes)
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for o in outcomes:
        for cls in o.classes:
            counts[cls] += 1
            example.setdefault(cls, f"{o.case.name}: {next(d for c, d in o.diffs if c == cls)}")
    agree = sum(o.agrees for o in outcomes)
    accepted = sum(o.oracle_accepts for o in outcomes)
    n = len(outcomes) or 1
    lines = [
        f"programs: {len(outcomes)}   oracle accepts: {accepted}   agree: {agree} ({100 * agree / n:.1f}%)",
        "",
        f"| {'class':40} | programs | example",
        f"|{'-' * 42}|----------|--------",
    ]
    for cls, count in sorted(counts.items(), key=lambda kv: (kv[0].startswith("exception:"), -kv[1])):
        ex = example[cls].replace("\n", " / ")
        lines.append(f"| {cls:40} | {count:8} | {ex[:160]}")
    return "\n".join(lines)
