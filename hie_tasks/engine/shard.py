"""`--shard i/N`: split one plan's checks across N parallel jobs, deterministically and balanced.

Every shard parses and plans the whole spec (so every shard reports the same diagnostics and knows the whole
plan), then runs only its share. The rule, so it can be predicted:

- A check whose last duration is known is placed greedily, longest first, on the least-loaded shard (ties:
  the lower shard number; equal durations: by the hash of the check's stable key). Longest-first greedy
  keeps the largest shard within 4/3 of the best possible split, and close to total/N when no single check
  dominates.
- A check with no known duration is placed by the hash of its stable key (spec file, element, position in
  the element, text) modulo N, counted at the median known duration. A first run (nothing known) is thus a
  hash split that does not reshuffle when checks are added elsewhere in the spec.
- A check that cannot run (its arguments failed, a skipped element) costs nothing and is placed by hash.

Durations come from the result store (`duration_ms` of each stored verdict, the time the check took when it
last really ran) or from a JSON report (`--durations FILE`, e.g. the last merged report). All shards must
see the same durations or they would split differently: each shard's report carries the identity of its
assignment (`split`), and `hie-tasks merge` refuses shards whose assignments differ.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hie_tasks.diagnostics import Diagnostic
from hie_tasks.engine.planned import Plan, PlannedCheck
from hie_tasks.engine.results import ShardInfo
from hie_tasks.incremental.session import CheckKey
from hie_tasks.version import __version__

if TYPE_CHECKING:
    from hie_tasks.engine.project import Project

SHARD_ENV = "HIE_TASKS_SHARD"


class ShardError(Exception):
    """A bad `--shard` value or durations file: the message names it and says what is allowed."""


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, source: str = "--shard") -> Shard:
    """`i/N` with 1 ≤ i ≤ N (1-based, as node's test runner and Playwright count shards)."""
    value = text.strip()
    head, sep, tail = value.partition("/")
    if not sep or not head.strip().isdigit() or not tail.strip().isdigit():
        raise ShardError(f"{source} '{text}' is not of the form i/N (e.g. 2/4: the second of four shards)")
    index, count = int(head), int(tail)
    if count < 1:
        raise ShardError(f"{source} '{text}': the number of shards must be at least 1")
    if not 1 <= index <= count:
        raise ShardError(f"{source} '{text}': shards are numbered from 1 to {count} (1/{count} … {count}/{count})")
    return Shard(index, count)


def stable_key(planned: PlannedCheck) -> str:
    return CheckKey(planned.spec_file, planned.element, planned.index, planned.text).storage_key()


def _hash(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def partition(items: list[tuple[str, float | None]], count: int) -> list[int]:
    """The shard (0-based) of each item, given (stable key, known duration or None) per item."""
    assign = [0] * len(items)
    loads = [0.0] * count
    known = [d for _, d in items if d is not None and d > 0]
    estimate = statistics.median(known) if known else 1.0
    placed: list[tuple[float, int, int]] = []
    for i, (key, duration) in enumerate(items):
        if duration is None or duration <= 0:
            shard = _hash(key) % count
            assign[i] = shard
            loads[shard] += estimate if duration is None else 0.0
        else:
            placed.append((-duration, _hash(key), i))
    placed.sort()
    heap = [(load, shard) for shard, load in enumerate(loads)]
    heapq.heapify(heap)
    for negative, _, i in placed:
        load, shard = heapq.heappop(heap)
        assign[i] = shard
        heapq.heappush(heap, (load - negative, shard))
    return assign


# ---------------------------------------------------------------------------------------------- durations


def report_key(element: str, check: str, occurrence: int) -> tuple[str, str, int]:
    """How a check is found in a JSON report: element, text, and which of equal checks in it (lines move)."""
    return element, check, occurrence


def durations_from_report(path: str) -> dict[tuple[str, str, int], float]:
    """Each check's duration from a JSON report written by `run -f json` or `merge -f json`."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ShardError(f"cannot read the durations file '{path}': {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ShardError(f"the durations file '{path}' is not JSON ({exc}); give a report written by "
                         "`hie-tasks run -f json` or `hie-tasks merge -f json`") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise ShardError(f"the durations file '{path}' has no \"results\" list; give a report written by "
                         "`hie-tasks run -f json` or `hie-tasks merge -f json`")
    seen: dict[tuple[str, str], int] = {}
    out: dict[tuple[str, str, int], float] = {}
    for item in results:
        if not isinstance(item, dict):
            continue
        element, check, duration = item.get("element"), item.get("check"), item.get("duration_ms")
        if not isinstance(element, str) or not isinstance(check, str):
            continue
        n = seen[(element, check)] = seen.get((element, check), -1) + 1
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration >= 0:
            out[report_key(element, check, n)] = float(duration)
    return out


def planned_durations(
    checks: list[PlannedCheck],
    by_store_key: Mapping[str, float] | None = None,
    by_report_key: Mapping[tuple[str, str, int], float] | None = None,
) -> list[float | None]:
    """Per planned check, the duration to balance by (0 for checks that will not run, None when unknown)."""
    seen: dict[tuple[str, str], int] = {}
    out: list[float | None] = []
    for planned in checks:
        n = seen[(planned.element, planned.text)] = seen.get((planned.element, planned.text), -1) + 1
        if planned.skipped or planned.error is not None or planned.library is None:
            out.append(0.0)
        elif by_report_key is not None:
            out.append(by_report_key.get(report_key(planned.element, planned.text, n)))
        elif by_store_key is not None:
            out.append(by_store_key.get(stable_key(planned)))
        else:
            out.append(None)
    return out


# ---------------------------------------------------------------------------------------------- identity


def plan_identity(plan: Plan, diagnostics: list[Diagnostic]) -> str:
    """Equal for two plans of the same spec, libraries and tool version; what `merge` compares shards by."""
    identities: dict[int, str] = {}
    checks = []
    for planned in plan.checks:
        library = planned.library
        identity = ""
        if library is not None:
            if id(library) not in identities:
                identities[id(library)] = f"{library.name}:{library.identity()}"
            identity = identities[id(library)]
        checks.append([stable_key(planned), planned.skipped, planned.error, identity])
    diags = [[d.code, d.severity.value, d.message, d.line, d.column] for d in diagnostics]
    text = json.dumps([__version__, checks, diags], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def select(
    plan: Plan,
    shard: Shard,
    durations: list[float | None],
    *,
    diagnostics: list[Diagnostic],
    source: str,
    spec: str = "",
) -> tuple[Plan, ShardInfo]:
    """The part of `plan` this shard runs (same diagnostics and scopes), and what its report records."""
    items = [(stable_key(planned), duration) for planned, duration in zip(plan.checks, durations, strict=True)]
    assign = partition(items, shard.count)
    mine = [i for i, s in enumerate(assign) if s == shard.index - 1]
    split = hashlib.sha256(json.dumps([shard.count, assign]).encode("ascii")).hexdigest()
    part = Plan(
        checks=[plan.checks[i] for i in mine],
        diagnostics=plan.diagnostics,
        scopes=plan.scopes,
        scope_inputs=plan.scope_inputs,
    )
    info = ShardInfo(
        index=shard.index,
        count=shard.count,
        plan=plan_identity(plan, diagnostics),
        split=split,
        checks=len(plan.checks),
        # The runner reports every check that is not skipped, in plan order: those are the outcomes' positions.
        positions=[i for i in mine if not plan.checks[i].skipped],
        durations=source,
        spec=spec,
    )
    return part, info


def shard_from_env(flag: str | None) -> tuple[str, str] | None:
    """(value, where it came from): the flag wins over `$HIE_TASKS_SHARD`; an empty variable means none."""
    if flag is not None:
        return flag, "--shard"
    env = os.environ.get(SHARD_ENV, "").strip()
    return (env, f"${SHARD_ENV}") if env else None


def shard_plan(
    project: Project,
    plan: Plan,
    shard: Shard,
    *,
    diagnostics: list[Diagnostic],
    durations_file: str | None = None,
    spec: str = "",
) -> tuple[Plan, ShardInfo]:
    """This shard's part of `plan`, balanced by `durations_file` (a JSON report) or the result store."""
    if durations_file is not None:
        known = planned_durations(plan.checks, by_report_key=durations_from_report(durations_file))
        source = f"file {os.path.basename(durations_file)}"
    elif project.options.use_store:
        known = planned_durations(plan.checks, by_store_key=project.session().recorded_durations())
        source = "store"
    else:
        known = planned_durations(plan.checks)
        source = "none"
    return select(plan, shard, known, diagnostics=diagnostics, source=source, spec=spec)
