"""One minimal spec per mismatch class found against the upstream oracle (#11).

Each asserts the structure we give — element paths, which element a check belongs to, the first error — as
the oracle answered it when the class was found; where the oracle is present, it is asked too, so the
expectation itself stays checked against upstream.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.compare import REPO, oracle_path

S = "scope s = files.folder_selector('src')"
C = "check files.exists(s, 'a.py')"

#: (name, spec, expected): expected is ("ok", [(element path, check text), …]) or ("error", (code, line)).
CASES: list[tuple[str, str, tuple[str, object]]] = [
    # 1. comment lines emit indentation like code lines
    ("deeper-doc-line", f"element a:\n    {S}\n        ## deeper\n    {C}\n", ("error", ("E002", 3))),
    ("deeper-comment-line", f"element a:\n    {S}\n        # deeper\n    {C}\n", ("error", ("E002", 3))),
    (
        "column-1-comment-in-brace-child",
        f"element a:\n    element c {{\n        {S}\n# col 1\n        {C}\n    }}\nelement q:\n    {C}\n",
        ("ok", [("a.c", "files.exists(s, 'a.py')"), ("a.q", "files.exists(s, 'a.py')")]),
    ),
    ("shallower-doc-line", f"element a:\n    {S}\n   ## shallower\n    {C}\n", ("error", ("E001", 4))),
    # 2. a body of comment lines only is an empty element
    ("comment-only-body", "element a:\n    # only\nelement b:\n    ## only\n", ("ok", [])),
    # 3. an unclosed `{` at end of file is closed silently
    ("unclosed-brace", f"element a {{\n    {S}\n    element b {{\n        {C}\n", ("ok", [("a.b", "files.exists(s, 'a.py')")])),
    # 4. `##` as the last line of a brace body; an indented first line
    ("doc-last-in-brace", f"element a {{\n    {S}\n    element b:\n        {C}\n    ## last\n}}\n", ("error", ("E002", 6))),
    ("indented-first-line", f"  element a {{\n    {S}\n}}\n", ("error", ("E001", 1))),
    ("brace-closer-too-deep", f"element a {{\n    {S}\n    {C}\n    }}\n", ("error", ("E001", 5))),
    # lexing: one-line `### x ###` is a doc comment unless it ends its line; strings span lines
    ("block-comment-line", f"element a:\n    element b {{\n        {S}\n### x ###\n        element c {{\n        }}\n    }}\n", ("ok", [])),
    ("block-then-text-is-doc", f"element a:\n    ### x ### {S}\n    {C}\n", ("ok", [("a", "files.exists(s, 'a.py')")])),
    ("unterminated-string", "element a:\n    scope s = files.folder_selector('src)\n    check files.exists(s, \"x\")\n", ("error", ("E003", 2))),
    ("statement-before-brace", f"element a {{\n    {S}\n    {C} }}\n", ("error", ("E008", 3))),
    ("colon-then-token", "element a: ,\n", ("error", ("E007", 1))),
    ("no-type-annotation", "pattern p {\n    element layer: Layer {\n        scope code\n    }\n}\n", ("error", ("E007", 2))),
]


def _ours(cwd: Path, *args: str) -> tuple[int, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "hie_tasks.cli.upstream", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout)


def _theirs(cwd: Path, *args: str) -> tuple[int, object]:
    oracle = oracle_path()
    assert oracle is not None
    proc = subprocess.run([str(oracle), *args], cwd=cwd, env={**os.environ, "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout)


def _answer(run: tuple[int, object]) -> tuple[str, object]:
    _, doc = run
    assert isinstance(doc, dict)
    if "results" in doc:
        return "ok", [(r["element"], r["check"]) for r in doc["results"]]
    first = doc["errors"][0]
    return "error", (first["code"], first["span"]["start"]["line"])


@pytest.mark.parametrize(("name", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_structure_and_first_error(name: str, spec: str, expected: tuple[str, object], tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    (tmp_path / "t.hie").write_text(spec)
    rc, doc = _ours(tmp_path, "run", "t.hie", "--format", "json")
    assert _answer((rc, doc)) == expected
    # class 5: an invalid spec gives the diagnostics JSON on stdout with exit 1, as `check` does
    if expected[0] == "error":
        assert rc == 1 and isinstance(doc, dict) and doc["status"] == "error"
    if oracle_path() is not None:
        assert _answer(_theirs(tmp_path, "run", "t.hie", "--format", "json")) == expected


def test_hie_tasks_run_json_prints_diagnostics_for_an_invalid_spec(tmp_path: Path) -> None:
    (tmp_path / "t.hie").write_text("element a:\n    check files.exists(\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "hie_tasks", "run", "t.hie", "-f", "json", "--no-cache"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["status"] == "error" and doc["errors"][0]["code"] == "E003"


MESSAGES = (
    "element a:\n"
    "    scope s = files.folder_selector('src')\n"
    "    element b:\n"
    "        scope t = files.folder_selector('src')\n"
    "element z:\n"
    "    check files.exists(a.s, 'a.py')\n"
    "    check files.exists(a.b.t, 'a.py')\n"
    "    check files.exists(q.r.s, 'a.py')\n"
    "    check nolib.f(undefined_x)\n"
    "    check foo(s)\n"
    "    check 'str'\n"
)


def test_messages_and_error_order_follow_upstream(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    (tmp_path / "t.hie").write_text(MESSAGES)
    _, doc = _ours(tmp_path, "run", "t.hie", "--format", "json")
    assert isinstance(doc, dict)
    ours = [(r["status"], r["message"]) for r in doc["results"]]
    assert ours == [
        ("error", "Member access a.s cannot be evaluated directly"),
        ("pass", None),
        ("error", "Undefined reference: q.r.s"),
        ("error", "Undefined identifier: undefined_x"),  # before "Unknown library: nolib"
        ("error", "Expected library.function"),
        ("error", "Check must be a function call"),
    ]
    if oracle_path() is not None:
        _, theirs = _theirs(tmp_path, "run", "t.hie", "--format", "json")
        assert isinstance(theirs, dict)
        assert [(r["status"], r["message"]) for r in theirs["results"]] == ours


PATHS = """\
element e:
    scope s = files.folder_selector('src')
    scope r = files.folder_selector('.')
    scope d = files.folder_selector('./src/')
    scope g = files.glob_selector('./docs/*.md')
    scope f = files.file_selector('./src//a.py')
    check files.max_size(s, 10)
    check files.max_size(r, 40)
    check files.max_size(d, 10)
    check files.max_size(g, 2)
    check files.max_size(f, 2)
    check files.no_files_matching(s, '**/*.py')
    check files.no_files_matching(r, 'src/*.py')
    check files.no_files_matching(f, '*.py')
"""


@pytest.mark.parametrize("naming", ["spec-dir", "-w .", "-w ./", "-w abs", "from-parent", "-w ../ws"])
def test_files_messages_spell_paths_from_the_workspace_as_given(tmp_path: Path, naming: str) -> None:
    """Class `files:path-rendering`: upstream joins its workspace string with the selector's text (no
    resolving), the glob crate drops a leading `./`, and the first file is the first in listing order."""
    ws = tmp_path / "ws"
    for rel, size in (("src/a.py", 50), ("src/sub/c.py", 6), ("src/a-b/y.py", 6), ("docs/g.md", 6)):
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text("x" * size)
    (ws / "t.hie").write_text(PATHS)
    cwd, spec, extra = {
        "spec-dir": (ws, "t.hie", []), "-w .": (ws, "t.hie", ["-w", "."]), "-w ./": (ws, "t.hie", ["-w", "./"]),
        "-w abs": (ws, "t.hie", ["-w", str(ws)]), "from-parent": (tmp_path, "ws/t.hie", []),
        "-w ../ws": (ws, "t.hie", ["-w", "../ws"]),
    }[naming]
    _, doc = _ours(cwd, "run", spec, *extra, "--format", "json")
    assert isinstance(doc, dict)
    ours = [r.get("message") for r in doc["results"]]
    prefix = {"spec-dir": ".", "-w .": ".", "-w ./": ".", "-w abs": str(ws), "from-parent": "ws",
              "-w ../ws": "../ws"}[naming]
    assert ours[0] == f"File '{prefix}/src/a.py' exceeds maximum size (50 > 10 bytes)"
    assert ours[1] == f"File '{prefix}/./src/a.py' exceeds maximum size (50 > 40 bytes)"
    glob_prefix = "" if prefix == "." else prefix + "/"
    assert ours[5] == (f"Found 3 files matching pattern '**/*.py': [\"{glob_prefix}src/a-b/y.py\", "
                       f"\"{glob_prefix}src/a.py\", \"{glob_prefix}src/sub/c.py\"]")
    if oracle_path() is not None:
        _, theirs = _theirs(cwd, "run", spec, *extra, "--format", "json")
        assert isinstance(theirs, dict)
        assert [r.get("message") for r in theirs["results"]] == ours
