"""What a run produces: one outcome per check, the totals, and diagnostics raised while evaluating scopes.

The output formats (`hie_tasks.output`) read only these classes, so every format reports the same facts.
"""

from __future__ import annotations

import os

from hie_tasks.diagnostics import Diagnostic
from hie_tasks.model import jsontext
from hie_tasks.model.record import FrozenRecord, Record
from hie_tasks.model.values import Location, Status


class CheckOutcome(Record):
    __slots__ = ("element", "check", "status", "message", "file", "line", "column", "duration_ms", "cached",
                 "cache_source", "output", "library", "locations", "function")

    element: str
    #: the check expression printed back as upstream does (`files.exists(src, 'a.py')`)
    check: str
    status: Status
    message: str | None
    file: str
    line: int
    column: int
    duration_ms: float
    cached: bool
    #: where a replayed verdict came from: "local" (the result store) or "remote" (the shared cache)
    cache_source: str
    #: captured plugin output (stdout/stderr lines), shown with the check in human output
    output: list[str]
    library: str | None
    #: the offending sources the check named (file and line), beside the message
    locations: list[Location]
    #: the library function the check called (`exists` in `files.exists(...)`); "" when none was resolved
    function: str

    def __init__(self, element: str, check: str, status: Status, message: str | None, file: str, line: int,
                 column: int, duration_ms: float = 0.0, cached: bool = False, cache_source: str = "local",
                 output: list[str] | None = None, library: str | None = None,
                 locations: list[Location] | None = None, function: str = "") -> None:
        self.element = element
        self.check = check
        self.status = status
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.duration_ms = duration_ms
        self.cached = cached
        self.cache_source = cache_source
        self.output = [] if output is None else output
        self.library = library
        self.locations = [] if locations is None else locations
        self.function = function


class Totals(Record):
    __slots__ = ("total", "passed", "failed", "errors", "skipped", "cached", "remote")

    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    cached: int
    #: of `cached`, how many came from the remote cache
    remote: int

    def __init__(self, total: int = 0, passed: int = 0, failed: int = 0, errors: int = 0, skipped: int = 0,
                 cached: int = 0, remote: int = 0) -> None:
        self.total = total
        self.passed = passed
        self.failed = failed
        self.errors = errors
        self.skipped = skipped
        self.cached = cached
        self.remote = remote

    def add(self, outcome: CheckOutcome) -> None:
        self.total += 1
        if outcome.status is Status.PASS:
            self.passed += 1
        elif outcome.status is Status.FAIL:
            self.failed += 1
        else:
            self.errors += 1
        if outcome.cached:
            self.cached += 1
            if outcome.cache_source == "remote":
                self.remote += 1


class RunReport(Record):
    __slots__ = ("outcomes", "totals", "diagnostics", "duration_ms", "rules", "shard", "workspace", "base_dir",
                 "spec_invalid")

    outcomes: list[CheckOutcome]
    totals: Totals
    #: diagnostics from evaluating scopes (the scope stays unset, later uses fail with E200)
    diagnostics: list[Diagnostic]
    duration_ms: float
    #: catalog entries of the functions the plan's checks call, by `library.function` (SARIF rules)
    rules: dict[str, RuleDoc]
    #: set when this report is one shard of a split run (`--shard i/N`)
    shard: ShardInfo | None
    #: the absolute workspace root, and the directory relative paths in `file` fields are relative to
    workspace: str
    base_dir: str

    #: the spec had errors, so nothing was planned: `diagnostics` say why and every format must show them
    spec_invalid: bool

    def __init__(self, outcomes: list[CheckOutcome] | None = None, totals: Totals | None = None,
                 diagnostics: list[Diagnostic] | None = None, duration_ms: float = 0.0,
                 rules: dict[str, RuleDoc] | None = None, shard: ShardInfo | None = None, workspace: str = "",
                 base_dir: str = "", spec_invalid: bool = False) -> None:
        self.outcomes = [] if outcomes is None else outcomes
        self.totals = Totals() if totals is None else totals
        self.diagnostics = [] if diagnostics is None else diagnostics
        self.duration_ms = duration_ms
        self.rules = {} if rules is None else rules
        self.shard = shard
        self.workspace = workspace
        self.base_dir = base_dir
        self.spec_invalid = spec_invalid

    @property
    def ok(self) -> bool:
        return not self.spec_invalid and self.totals.failed == 0 and self.totals.errors == 0

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


#: Locations travel through the result store inside the verdict's output list, as one line with this prefix
#: (a control character no plugin line starts with), so replayed failures still name their sources without a
#: store schema change. `split_locations` takes it out again before anything is shown.
_LOCATIONS_MARK = "\x1fhie-locations\x1f"


def relative_locations(locations: tuple[Location, ...] | list[Location], workspace: str) -> list[Location]:
    """Workspace-relative, slash-separated paths (what a PR annotation and a person need); outside stays."""
    out: list[Location] = []
    for loc in locations:
        path = loc.file
        if os.path.isabs(path):
            rel = os.path.relpath(path, workspace)
            if not rel.startswith(".."):
                path = rel.replace(os.sep, "/")
        out.append(Location(path, loc.line))
    return out


def pack_locations(locations: list[Location]) -> list[str]:
    if not locations:
        return []
    return [_LOCATIONS_MARK + jsontext.dumps([[loc.file, loc.line] for loc in locations])]


def split_locations(output: list[str]) -> tuple[list[str], list[Location]]:
    """(output lines, locations) from a stored output list."""
    lines: list[str] = []
    locations: list[Location] = []
    for line in output:
        if line.startswith(_LOCATIONS_MARK):
            try:
                locations = [Location(str(f), int(n)) for f, n in jsontext.loads(line[len(_LOCATIONS_MARK):])]
            except (ValueError, TypeError):
                locations = []
        else:
            lines.append(line)
    return lines, locations


class RuleDoc(FrozenRecord):
    """What the library catalog says about one check function, as a SARIF rule needs it."""

    __slots__ = ("id", "library", "function", "short", "full", "help_text", "help_markdown", "library_version")

    id: str
    library: str
    function: str
    short: str
    full: str
    help_text: str
    help_markdown: str
    library_version: str

    def __init__(self, id: str, library: str, function: str, short: str, full: str, help_text: str,
                 help_markdown: str, library_version: str = "") -> None:
        self.id = id
        self.library = library
        self.function = function
        self.short = short
        self.full = full
        self.help_text = help_text
        self.help_markdown = help_markdown
        self.library_version = library_version


class ShardInfo(Record):
    """Which part of a split run a report covers, and what `merge` needs to put the parts back together."""

    __slots__ = ("index", "count", "plan", "split", "checks", "positions", "durations", "spec")

    index: int
    count: int
    #: identity of the whole plan (checks, libraries, diagnostics): equal in every shard of one run
    plan: str
    #: identity of the assignment of checks to shards: equal when every shard split the same way
    split: str
    #: number of checks in the whole plan (skipped ones included)
    checks: int
    #: per outcome of this shard, in order: its position in the whole plan
    positions: list[int]
    #: where the durations that balanced the split came from ("store", "file NAME", "none")
    durations: str
    spec: str

    def __init__(self, index: int, count: int, plan: str, split: str, checks: int,
                 positions: list[int] | None = None, durations: str = "none", spec: str = "") -> None:
        self.index = index
        self.count = count
        self.plan = plan
        self.split = split
        self.checks = checks
        self.positions = [] if positions is None else positions
        self.durations = durations
        self.spec = spec
