"""The catalog entry of every check function a plan calls, as rules for code-scanning reports (SARIF).

A rule's id is `library.function`: stable across runs, spec edits and shards. Its texts come from the
library's own documentation (what `hie-tasks doc` prints); a library whose catalog cannot be read (a plugin
that fails to load) or that does not list the function still gets a rule, saying so.
"""

from __future__ import annotations

from hie_tasks.engine.planned import PlannedCheck
from hie_tasks.engine.results import RuleDoc
from hie_tasks.libraries.base import FunctionDoc, Library, LibraryDoc
from hie_tasks.model.errors import LibraryError


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    cut = text.find(". ")
    return text[: cut + 1] if cut > 0 else text


def _help_markdown(rule_id: str, fn: FunctionDoc) -> str:
    lines = [f"**`{rule_id}`**", "", fn.description]
    if fn.parameters:
        lines += ["", "| Parameter | Type | Description |", "|---|---|---|"]
        lines += [f"| `{p.name}` | `{p.param_type}` | {p.description} |" for p in fn.parameters]
    if fn.example:
        lines += ["", "Example:", "", "```", fn.example, "```"]
    return "\n".join(lines)


def _help_text(fn: FunctionDoc) -> str:
    lines = [fn.description]
    if fn.parameters:
        lines += ["", "Parameters:"] + [f"  {p.name} ({p.param_type}): {p.description}" for p in fn.parameters]
    if fn.example:
        lines += ["", "Example:", f"  {fn.example}"]
    return "\n".join(lines)


def rule_for(library: str, function: str, doc: LibraryDoc | None) -> RuleDoc:
    rule_id = f"{library}.{function}"
    found = None
    if doc is not None:
        found = next((f for f in (*doc.checks, *doc.functions) if f.name == function), None)
    if found is None or not found.description.strip():
        why = "its catalog could not be read" if doc is None else "its catalog does not describe it"
        text = f"The `{function}` check of the `{library}` library ({why})."
        return RuleDoc(rule_id, library, function, f"Check {rule_id}", text, text, text,
                       doc.version if doc is not None else "")
    return RuleDoc(
        id=rule_id,
        library=library,
        function=function,
        short=_first_sentence(found.description),
        full=" ".join(found.description.split()),
        help_text=_help_text(found),
        help_markdown=_help_markdown(rule_id, found),
        library_version=doc.version if doc is not None else "",
    )


def collect_rules(checks: list[PlannedCheck]) -> dict[str, RuleDoc]:
    """One rule per distinct `library.function` among the checks, sorted by id."""
    docs: dict[int, LibraryDoc | None] = {}
    wanted: dict[str, tuple[Library, str]] = {}
    for planned in checks:
        if planned.library is not None and planned.function:
            wanted.setdefault(f"{planned.library.name}.{planned.function}", (planned.library, planned.function))
    rules: dict[str, RuleDoc] = {}
    for rule_id in sorted(wanted):
        library, function = wanted[rule_id]
        if id(library) not in docs:
            try:
                docs[id(library)] = library.documentation()
            except LibraryError:
                docs[id(library)] = None
            except Exception:  # a plugin bug in its catalog must not cost the report
                docs[id(library)] = None
        rules[rule_id] = rule_for(library.name, function, docs[id(library)])
    return rules
