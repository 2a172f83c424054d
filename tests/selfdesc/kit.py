"""Shared by the self-description tests: write a source tree and its spec, run it, read the verdicts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import run_cli

SPEC_NAME = "arch.hie"


def write_tree(root: Path, files: dict[str, str], spec: str) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / SPEC_NAME).write_text(spec)
    return root


def verdicts(ws: Path) -> dict[str, str]:
    r = run_cli("run", str(ws / SPEC_NAME), "-f", "json", "--no-cache")
    data = json.loads(r.out)
    return {f"{x['element']} :: {x['check']}": x["status"] for x in data["results"]}


def red_checks(ws: Path, *, at_least: int = 15) -> set[str]:
    """The checks that do not pass; also asserts the description has at least `at_least` checks."""
    result = verdicts(ws)
    assert len(result) >= at_least
    return {k for k, v in result.items() if v != "pass"}


def prepend(path: Path, text: str) -> None:
    path.write_text(text + path.read_text())
