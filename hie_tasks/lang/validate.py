"""Semantic checks that need no evaluation: warnings only, so they never reject a file upstream accepts.

- W001: `import x`, `import x.y` or `from x import …` where `x` names no known library (built-in or configured).
  String path imports are spec files, handled by the loader, not libraries.
- W003: `element e implements P` where no pattern or template named `P` exists in the files loaded together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hie_tasks.diagnostics import Diagnostic, warning
from hie_tasks.lang.ast import Element, Pattern, Program


def _elements(items: Iterable[object]) -> Iterator[Element]:
    for item in items:
        if isinstance(item, Element):
            yield item
            yield from _elements(item.items)


def pattern_names(programs: Iterable[Program]) -> set[str]:
    return {d.name for p in programs for d in p.declarations if isinstance(d, Pattern)}


def validate(
    program: Program, known_libraries: set[str], known_patterns: set[str] | None = None
) -> list[Diagnostic]:
    """Warnings for `program`. `known_patterns` defaults to the patterns declared in `program` itself."""
    diags: list[Diagnostic] = []
    for imp in program.imports:
        if imp.is_string or imp.path[0] in known_libraries:
            continue
        known = ", ".join(sorted(known_libraries)) or "none"
        diags.append(
            warning(
                "W001",
                f"unknown library `{imp.path[0]}` in import",
                imp.span,
                help=f"known libraries: {known}; configure others in hielements.toml",
            )
        )
    patterns = pattern_names([program]) if known_patterns is None else known_patterns
    for decl in program.declarations:
        # Elements inside patterns are templates themselves; their `implements` is checked all the same.
        roots = decl.items if isinstance(decl, Pattern) else [decl] if isinstance(decl, Element) else []
        for element in _elements(roots):
            for name in element.implements:
                if name not in patterns:
                    diags.append(
                        warning(
                            "W003",
                            f"element `{element.name}` implements `{name}`, but no pattern `{name}` is declared",
                            element.name_span,
                            help=f"declare `pattern {name} {{ … }}` or import the spec file that declares it",
                        )
                    )
    return diags
