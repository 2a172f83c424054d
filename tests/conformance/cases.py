"""Turning seeds and directories into `Case`s the comparator runs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tests.conformance.compare import Case
from tests.conformance.generator import generate, make_workspace


def generated(seeds: Iterable[int], root: Path) -> list[Case]:
    """One directory per seed: the generated workspace plus `prog.hie` (bytes as generated: CRLF stays).

    Seeds also vary how the workspace is named, because messages spell file paths from it: the spec's own
    directory (`prog.hie`, or `seed-N/prog.hie` from the parent), `-w .`, `-w ./` and `-w` absolute."""
    cases = []
    for seed in seeds:
        d = root / f"seed-{seed}"
        make_workspace(d)
        (d / "prog.hie").write_bytes(generate(seed).encode())
        naming = seed % 6
        if naming == 3:
            cases.append(Case(f"seed {seed}", root, f"seed-{seed}/prog.hie"))
        else:
            extra = {0: (), 1: (), 2: ("-w", "."), 4: ("-w", "./"), 5: ("-w", str(d))}[naming]
            cases.append(Case(f"seed {seed}", d, "prog.hie", extra))
    return cases


def from_paths(paths: Iterable[Path]) -> list[Case]:
    """Every `.hie` file given or found (recursively) under a given directory, run from its own directory."""
    cases = []
    for path in paths:
        files = sorted(path.rglob("*.hie")) if path.is_dir() else [path]
        for f in files:
            f = f.resolve()
            cases.append(Case(str(f), f.parent, f.name))
    return cases
